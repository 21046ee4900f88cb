"""The shipped Discrete Denoising Flow for label maps: registered weights, file round trip, refusals, trained."""

import io

import numpy as np
import pytest
from PIL import Image

import ardmzip
from conftest import FIXTURES


def label_map(name: str = "kodim23_crop48x40.png") -> np.ndarray:
    """A fixture photo as an RGB8 label map (what ddf-rgb8 was trained on)."""
    a = np.asarray(Image.open(FIXTURES / name).convert("RGB")) >= 128
    return (4 * a[..., 0] + 2 * a[..., 1] + a[..., 2]).astype(np.uint8)


def test_weights_match_the_registry():
    entry = ardmzip.REGISTRY.get("ddf-rgb8")
    model = ardmzip.REGISTRY.load(entry)  # raises if missing or if the sha256 differs
    assert entry.default_budget == 1 and model.classes == 8 and model.channels == 1


def test_file_round_trip_of_a_palette_label_map(tmp_path):
    im = Image.fromarray(label_map(), mode="P")
    im.putpalette([v for c in range(8) for v in (255 * (c >> 2), 255 * (c >> 1 & 1), 255 * (c & 1))])
    im.save(tmp_path / "labels.png")
    ardmzip.compress_file(tmp_path / "labels.png", tmp_path / "labels.ardm", model="ddf-rgb8", threads=1)
    ardmzip.decompress_file(tmp_path / "labels.ardm", tmp_path / "back.png", threads=2)
    back = Image.open(tmp_path / "back.png")
    assert back.mode == "P" and np.array_equal(np.asarray(back), label_map())
    assert back.getpalette()[:24] == im.getpalette()[:24]


def test_refuses_a_photo():
    with pytest.raises(ardmzip.UnsupportedImageError, match="model 'ddf-rgb8' codes maps of 8 classes"):
        ardmzip.compress(Image.open(FIXTURES / "kodim05_crop17x33.png"), model="ddf-rgb8", threads=1)


def test_trained_flow_is_smaller_than_png_on_label_maps():
    """Trained, not random: on a label map of a photo it codes in fewer bytes than PNG, and well below the
    3 bits of an 8-class value."""
    a = label_map()
    png = io.BytesIO()
    Image.fromarray(a).save(png, format="PNG", optimize=True)
    data = ardmzip.compress(a, model="ddf-rgb8", threads=1)
    assert len(data) < 0.5 * len(png.getvalue()) and 8 * len(data) / a.size < 1.0
    assert np.array_equal(np.asarray(ardmzip.decompress(data, threads=1)), a)
