"""Flows for class maps through the API and CLI: label maps as L or P images in, exactly back; other images refused."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.models.discrete_flow import FAMILY as DF_FAMILY
from ardmzip.models.flow_files import save_flow
from ardmzip.registry import ModelEntry, file_sha256
from conftest import FIXTURES
from tiny_flows import tiny_ddf, tiny_df

CLI = [sys.executable, "-c", "from ardmzip.cli import main; main()"]


def saved(family: str, directory: Path) -> Path:
    path = directory / f"{family}.safetensors"
    model = tiny_ddf("labels", 7) if family == "ddf" else tiny_df(7, classes=8, channels=1, onehot=True)
    save_flow(path, family, model, {"note": "random init, tests only"})
    return path


@pytest.fixture(scope="module", params=["ddf", DF_FAMILY])
def model_path(request, tmp_path_factory):
    return saved(request.param, tmp_path_factory.mktemp("labels"))


def label_map() -> np.ndarray:
    """The RGB8 label map of a fixture photo: 8 classes, 4 of them present."""
    a = np.asarray(Image.open(FIXTURES / "kodim23_crop48x40.png").convert("RGB")) >= 128
    return (4 * a[..., 0] + 2 * a[..., 1] + a[..., 2]).astype(np.uint8)


def palette_image() -> Image.Image:
    im = Image.fromarray(label_map(), mode="P")
    im.putpalette([v for c in range(8) for v in (255 * (c >> 2), 255 * (c >> 1 & 1), 255 * (c & 1))])
    return im


@pytest.mark.parametrize("kind", ["array", "L", "P"])
def test_label_maps_round_trip(model_path, kind):
    image = {"array": label_map(), "L": Image.fromarray(label_map()), "P": palette_image()}[kind]
    data = ardmzip.compress(image, model=model_path, threads=1)
    back = ardmzip.decompress(data, model=model_path, threads=1)
    assert np.array_equal(np.asarray(back), np.asarray(image))
    if kind == "P":
        assert back.mode == "P" and back.getpalette()[:24] == image.getpalette()[:24]
    assert ardmzip.model_bits(image, model=model_path, threads=1) > 0


@pytest.mark.parametrize("image,why", [
    (lambda: Image.open(FIXTURES / "kodim05_crop17x33.png").convert("RGB"), "not images of 3 channels"),
    (lambda: Image.fromarray(label_map() * 2), "values must be 0-7, found 14"),
    (lambda: Image.fromarray(label_map() > 3), "values must be 0-7, found 255"),  # mode "1" stores 0 and 255
])
def test_other_images_are_refused_in_one_line(model_path, image, why):
    with pytest.raises(ardmzip.UnsupportedImageError, match=why) as e:
        ardmzip.compress(image(), model=model_path, threads=1)
    assert "\n" not in str(e.value) and "codes maps of 8 classes" in str(e.value)


def test_cli_refuses_a_photo_and_codes_a_label_map(tmp_path):
    model_path = saved("ddf", tmp_path)
    Image.open(FIXTURES / "kodim05_crop17x33.png").save(tmp_path / "photo.png")
    palette_image().save(tmp_path / "labels.png")
    r = subprocess.run([*CLI, "compress", "--threads", "1", "--model", str(model_path), str(tmp_path / "photo.png")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "codes maps of 8 classes" in r.stderr
    assert not (tmp_path / "photo.png.ardm").exists()
    r = subprocess.run([*CLI, "compress", "--threads", "1", "--model", str(model_path), str(tmp_path / "labels.png")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*CLI, "decompress", "--threads", "1", "--model", str(model_path), "-o", str(tmp_path / "back.png"),
                        str(tmp_path / "labels.png.ardm")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.asarray(Image.open(tmp_path / "back.png")), label_map())


def test_archive_of_label_maps(model_path):
    data = ardmzip.compress_archive([("a.png", Image.fromarray(label_map())), ("b.png", palette_image())],
                                    model=model_path, threads=1)
    back = ardmzip.decompress_archive(data, model=model_path, threads=1)
    assert [n for n, _ in back] == ["a.png", "b.png"]
    assert all(np.array_equal(np.asarray(im), label_map()) for _, im in back)
    with pytest.raises(ardmzip.UnsupportedImageError, match="^c.png: model .* codes maps of 8 classes"):
        ardmzip.compress_archive([("c.png", Image.open(FIXTURES / "kodim05_crop17x33.png"))], model=model_path,
                                 threads=1)


def test_a_file_whose_mode_the_model_cannot_code_is_refused(model_path, monkeypatch):
    """A header naming a colour image for a label-map model (no encoder writes one): refused before decoding."""
    from ardmzip import header as fmt
    data = ardmzip.compress(Image.fromarray(label_map()), model=model_path, threads=1)
    head, payload = fmt.unpack(data)
    forged = fmt.pack(fmt.Header(**{**head.__dict__, "mode": "RGB"}), payload)
    with pytest.raises(ardmzip.CorruptFileError, match="codes maps of 8 classes"):
        ardmzip.decompress(forged, model=model_path, threads=1)


def test_registered_label_map_model(model_path, monkeypatch):
    entry = ModelEntry(name="tiny-labels", model_id=204, path=model_path, sha256=file_sha256(model_path),
                       default_budget=1, description="tiny")
    monkeypatch.setattr(ardmzip.REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(ardmzip.REGISTRY, "_loaded", {})
    data = ardmzip.compress(Image.fromarray(label_map()), model="tiny-labels", threads=1)
    assert ardmzip.inspect(data).model_id == 204
    assert np.array_equal(np.asarray(ardmzip.decompress(data, threads=1)), label_map())
