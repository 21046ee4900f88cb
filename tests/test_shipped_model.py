"""End to end with the shipped default weights, through the installed ``ardmzip`` command."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ardmzip
from conftest import FIXTURES

CLI = [sys.executable, "-c", "from ardmzip.cli import main; main()"]


def cli(*args):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=600)


def test_default_weights_match_the_registry():
    entry = ardmzip.REGISTRY.get()
    ardmzip.REGISTRY.load(entry)  # raises if missing or if the sha256 differs


def test_a_weights_file_stem_names_its_model():
    """Benchmarks name the default by its file (ardm-mix-c10-vN), a name that stays when vN+1 takes over."""
    registry = ardmzip.REGISTRY
    stems = [e.path.stem for e in registry.entries.values()]
    assert len(set(stems)) == len(stems)
    for entry in registry.entries.values():
        assert registry.get(entry.path.stem) is entry
        other = registry.entries.get(entry.path.stem)
        assert other is None or other is entry, "a stem that is another model's name would be ambiguous"
    assert set(registry.names()) == {*registry.entries, *stems}
    default = registry.get()
    assert default.path.stem != default.name and registry.get(default.path.stem) is default
    image = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    assert ardmzip.compress(image, model=default.path.stem, budget=2) == ardmzip.compress(image, budget=2)
    with pytest.raises(ardmzip.ModelError, match="unknown model"):
        registry.get(default.path.stem + "0")


@pytest.mark.parametrize("name", sorted(ardmzip.REGISTRY.entries))
def test_every_registered_model_loads_and_round_trips(name):
    entry = ardmzip.REGISTRY.get(name)
    model = ardmzip.REGISTRY.load(entry)
    assert len({e.model_id for e in ardmzip.REGISTRY.entries.values()}) == len(ardmzip.REGISTRY.entries)
    im = Image.open(FIXTURES / "kodim05_crop17x33.png").crop((0, 0, 9, 7))
    if getattr(model, "refusal", lambda shape: None)((7, 9, 3)):  # a model for class maps: a map of its classes
        im = Image.fromarray(np.asarray(im.convert("L")) % model.classes)
    budget = entry.default_budget if entry.default_budget == 1 else 6
    data = ardmzip.compress(im, model=name, budget=budget, threads=1)
    assert ardmzip.inspect(data).model_id == entry.model_id
    assert np.array_equal(np.asarray(ardmzip.decompress(data, threads=1)), np.asarray(im))


@pytest.mark.parametrize("name", ["kodim23_crop48x40.png", "kodim05_crop17x33.png", "kodim15_crop64x64.png"])
def test_cli_round_trip_on_real_photos(tmp_path, name):
    src = tmp_path / name
    shutil.copy(FIXTURES / name, src)
    r = cli("compress", "--threads", "1", "-v", src)
    assert r.returncode == 0, r.stderr
    packed = tmp_path / f"{name}.ardm"
    r = cli("decompress", "--threads", "2", "-o", tmp_path / "back.png", packed)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png")), np.asarray(Image.open(src)))


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_other_modes_with_default_weights(mode):
    im = Image.open(FIXTURES / "kodim05_crop17x33.png").convert(mode)
    if mode == "RGBA":
        a = np.asarray(im).copy()
        a[..., 3] = 255 - a[..., 0]
        im = Image.fromarray(a)
    out = ardmzip.decompress(ardmzip.compress(im, budget=16))
    assert out.mode == mode and np.array_equal(np.asarray(out), np.asarray(im))


def test_one_pixel_image(tmp_path):
    Image.new("RGB", (1, 1), (10, 200, 30)).save(tmp_path / "dot.png")
    assert cli("compress", tmp_path / "dot.png").returncode == 0
    assert cli("decompress", "-t", tmp_path / "dot.png.ardm").returncode == 0


def test_shipped_network_float32_equals_float64_reference():
    import torch

    from ardmzip.models.ardm import OrderAgnosticARDM
    from ardmzip.models.integer_net import IntegerARDMNet

    net = ardmzip.REGISTRY.load(ardmzip.REGISTRY.get()).net
    reference = OrderAgnosticARDM(IntegerARDMNet(net.t, net.config, dtype=torch.float64))
    x = np.asarray(Image.open(FIXTURES / "kodim15_crop64x64.png")).astype(np.int64)
    known = np.random.default_rng(0).random(x.shape) < 0.3
    idx = np.flatnonzero(~known)
    fast = ardmzip.REGISTRY.load(ardmzip.REGISTRY.get()).probabilities(x, known, idx)
    assert np.array_equal(fast, reference.probabilities(x, known, idx))
