import numpy as np
from PIL import Image

from ardmzip.benchmarks.__main__ import measure
from ardmzip.benchmarks.datasets import load, spread


def test_spread_covers_the_whole_set():
    idx = spread(10000, 200)
    assert len(idx) == 200 and idx[0] == 0 and idx[-1] >= 9950
    assert (spread(5, None) == np.arange(5)).all()


def test_loaders_and_measure(tmp_path, tiny_registry):
    (tmp_path / "cifar10").mkdir()
    x = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "cifar10" / "test_x.npy", x)
    (tmp_path / "kodak").mkdir()
    Image.fromarray(x[0]).save(tmp_path / "kodak" / "kodim01.png")
    rows = list(load("cifar10", tmp_path, limit=3))
    assert [n for n, _ in rows] == ["cifar10-test-0", "cifar10-test-3", "cifar10-test-6"]
    assert np.array_equal(rows[1][1], x[3])
    assert np.array_equal(next(load("kodak", tmp_path))[1], x[0])
    r = measure("img", x[0], None, 4)
    assert r["dims"] == 3072 and r["ardmzip_bytes"] > 22 and r["png_bytes"] > 0
