"""The shipped discrete flows: registered weights, CLI and API round trips on real images."""

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ardmzip
from conftest import FIXTURES

CLI = [sys.executable, "-c", "from ardmzip.cli import main; main()"]
FLOWS = ["idf-c10", "df-c10", "ddf-c10"]


@pytest.mark.parametrize("name", FLOWS)
def test_weights_match_the_registry(name):
    entry = ardmzip.REGISTRY.get(name)
    ardmzip.REGISTRY.load(entry)  # raises if missing or if the sha256 differs
    assert entry.default_budget == 1


@pytest.mark.parametrize("name", FLOWS)
def test_cli_round_trip(tmp_path, name):
    src = tmp_path / "photo.png"
    shutil.copy(FIXTURES / "kodim23_crop48x40.png", src)
    run = [*CLI, "compress", "--model", name, "--threads", "1", str(src)]
    assert subprocess.run(run, capture_output=True, text=True, timeout=600).returncode == 0
    r = subprocess.run([*CLI, "decompress", "--threads", "2", "-o", str(tmp_path / "back.png"), str(src) + ".ardm"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png")), np.asarray(Image.open(src)))


@pytest.mark.parametrize("name", FLOWS)
@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_other_modes(name, mode):
    im = Image.open(FIXTURES / "kodim05_crop17x33.png").convert(mode)
    if mode == "RGBA":
        a = np.asarray(im).copy()
        a[..., 3] = 255 - a[..., 0]
        im = Image.fromarray(a)
    out = ardmzip.decompress(ardmzip.compress(im, model=name))
    assert out.mode == mode and np.array_equal(np.asarray(out), np.asarray(im))


@pytest.mark.parametrize("name", ["idf-c10", "ddf-c10"])
def test_trained_flow_is_smaller_than_png_on_a_photo(name):
    """A trained flow, not a random one: the shipped IDF and DDF beat PNG on a real photo crop."""
    im = Image.open(FIXTURES / "kodim15_crop64x64.png").convert("RGB")
    png = io.BytesIO()
    im.save(png, format="PNG", optimize=True)
    assert len(ardmzip.compress(im, model=name)) < len(png.getvalue())
