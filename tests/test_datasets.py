"""Benchmark image sets: hashes checked, subsets spread over class-sorted sets, folders of any images."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ardmzip.datasets import DataError, images, spread_subset
from ardmzip.models import data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_spread_covers_the_whole_set():
    idx = spread_subset(10000, 200)
    assert len(idx) == 200 and idx[0] == 0 and idx[-1] >= 9950
    assert (spread_subset(5, None) == np.arange(5)).all() and (spread_subset(5, 9) == np.arange(5)).all()


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    x = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    (tmp_path / "cifar10").mkdir()
    np.save(tmp_path / "cifar10" / "test_x.npy", x)
    monkeypatch.setitem(data.ARRAY_SHA256, "cifar10/test_x.npy", hashlib.sha256(x.tobytes()).hexdigest())
    return tmp_path, x


def test_cifar_subset_is_spread_and_exact(fake_cifar):
    root, x = fake_cifar
    s = images("cifar10", root, limit=3)
    assert s.names == ["cifar10-test-0", "cifar10-test-3", "cifar10-test-6"]
    assert np.array_equal(s.read(1), x[3]) and len(list(s)) == 3


def test_grey_sets_are_the_cifar_images_converted_by_pillow(fake_cifar):
    root, x = fake_cifar
    s = images(data.GREY, root, limit=2)
    assert s.names == ["cifar10-grey-test-0", "cifar10-grey-test-5"]
    assert np.array_equal(s.read(1), np.asarray(Image.fromarray(x[5]).convert("L")))


def test_rgb8_label_maps_are_the_cifar_images_thresholded(fake_cifar):
    root, x = fake_cifar
    s = images(data.RGB8, root, limit=2)
    assert s.names == ["cifar10-rgb8-test-0", "cifar10-rgb8-test-5"]
    a = s.read(1)
    expected = 4 * (x[5, ..., 0] >= 128) + 2 * (x[5, ..., 1] >= 128) + (x[5, ..., 2] >= 128)
    assert a.shape == (32, 32) and a.dtype == np.uint8 and np.array_equal(a, expected)
    assert np.array_equal(data.training_view(data.RGB8)(torch.from_numpy(x[5:6]).permute(0, 3, 1, 2))[0, 0], a)
    with pytest.raises(DataError, match="unknown training data"):
        data.training_view("mnist")


def test_other_pixels_are_refused(fake_cifar, monkeypatch):
    root, _ = fake_cifar
    monkeypatch.setitem(data.ARRAY_SHA256, "cifar10/test_x.npy", "0" * 64)
    with pytest.raises(DataError, match="sha256"):
        images("cifar10", root)


def test_kodak_files_are_checked_when_read(tmp_path, monkeypatch):
    (tmp_path / "kodak").mkdir()
    a = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "kodak" / "kodim01.png")
    good = hashlib.sha256((tmp_path / "kodak" / "kodim01.png").read_bytes()).hexdigest()
    monkeypatch.setattr(data, "KODAK_SHA256", {"kodim01.png": good, "kodim02.png": "0" * 64})
    s = images("kodak", tmp_path)
    assert s.names == ["kodim01", "kodim02"] and np.array_equal(s.read(0), a)
    with pytest.raises(DataError, match="cannot read"):
        s.read(1)


def test_folder_keeps_8bit_modes_and_refuses_16bit(tmp_path):
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 256, (4, 5), dtype=np.uint8)).save(tmp_path / "a_grey.png")
    Image.fromarray(rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)).save(tmp_path / "b_rgba.png")
    Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)).convert("P").save(tmp_path / "c_pal.png")
    (tmp_path / "notes.txt").write_text("not an image")
    s = images("folder", tmp_path)
    assert s.names == ["a_grey.png", "b_rgba.png", "c_pal.png"]
    assert [a.shape for _, a in s] == [(4, 5), (4, 5, 4), (4, 5, 3)]
    Image.fromarray(np.zeros((2, 2), np.uint16)).save(tmp_path / "d_deep.png")
    with pytest.raises(DataError, match="not 8-bit"):
        images("folder", tmp_path).read(3)
    with pytest.raises(DataError, match="no image files"):
        images("folder", tmp_path / "missing")


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared data folder is not beside the checkout")
@pytest.mark.parametrize("dataset", ["cifar10", "imagenet32", "imagenet64", "kodak"])
def test_the_listed_hashes_match_the_shared_data(dataset):
    s = images(dataset, SHARED, limit=2)
    assert len(s) == 2 and s.read(1).dtype == np.uint8


def test_grey_planes_are_pillows_grey_conversion():
    rgb = np.random.default_rng(4).integers(0, 256, (3, 7, 9, 3), dtype=np.uint8)
    rgb[0, 0, :3] = [[0, 0, 0], [255, 255, 255], [255, 0, 128]]
    grey = data.grey_planes(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    assert grey.shape == (3, 1, 7, 9) and grey.dtype == torch.uint8
    for a, g in zip(rgb, grey):
        assert np.array_equal(np.asarray(Image.fromarray(a).convert("L")), g[0].numpy())
