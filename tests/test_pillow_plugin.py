"""The Pillow plugin, used only through Pillow's own API (Image.open, Image.save, registries)."""

import io

import numpy as np
import pytest
from PIL import Image

import ardmzip  # noqa: F401  (registers the plugin)
from conftest import FIXTURES
from test_image_planes import photo


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_registered_extension_and_mime():
    assert Image.registered_extensions()[".ardm"] == "ARDM"
    assert Image.MIME["ARDM"] == "image/x-ardm"
    assert "ARDM" in Image.OPEN and "ARDM" in Image.SAVE


def test_save_by_extension_then_open(tiny_registry, tmp_path):
    src = Image.open(FIXTURES / "kodim05_crop17x33.png")
    src.save(tmp_path / "x.ardm", budget=3)
    with Image.open(tmp_path / "x.ardm") as im:
        assert im.format == "ARDM" and im.get_format_mimetype() == "image/x-ardm"
        assert im.size == src.size and im.mode == src.mode
        assert same_pixels(im, src)


def test_open_reads_header_only_until_load(tiny_registry, tmp_path, monkeypatch):
    src = Image.open(FIXTURES / "kodim23_crop48x40.png")
    src.save(tmp_path / "y.ardm", budget=2)
    decoded = []
    monkeypatch.setattr(ardmzip.api, "decompress",
                        lambda data, _real=ardmzip.api.decompress, **kw: decoded.append(1) or _real(data, **kw))
    im = Image.open(tmp_path / "y.ardm")
    assert im.size == (48, 40) and im.mode == "RGB" and not decoded
    im.load()
    assert decoded == [1] and same_pixels(im, src)


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "PA", "1"])
def test_modes_through_file_objects(tiny_registry, mode):
    src = photo(mode)
    buf = io.BytesIO()
    src.save(buf, format="ARDM", budget=4)
    buf.seek(0)
    im = Image.open(buf)
    assert same_pixels(im, src)
    if mode in ("P", "PA"):
        assert im.getpalette() == src.getpalette()


def test_save_options_model_and_budget(tiny_model_entry, tmp_path):
    """A model file given by path is recorded by hash; the header shows the budget that was asked for."""
    src = Image.open(FIXTURES / "kodim05_crop17x33.png")
    src.save(tmp_path / "z.ardm", model=tiny_model_entry.path, budget=5)
    im = Image.open(tmp_path / "z.ardm")
    head = im.info["ardmzip_header"]
    assert head.budget == 5 and head.weights_tag.hex() == tiny_model_entry.sha256


def test_save_option_search(tiny_registry, tmp_path):
    src = Image.open(FIXTURES / "kodim23_crop48x40.png")
    src.save(tmp_path / "s.ardm", budget=3, search=4)
    assert (tmp_path / "s.ardm").read_bytes() == ardmzip.compress(src, budget=3, search=4)
    assert ardmzip.inspect((tmp_path / "s.ardm").read_bytes()).order_seed != 0
    with Image.open(tmp_path / "s.ardm") as im:
        assert same_pixels(im, src)


def test_not_an_ardm_file_is_not_identified(tmp_path):
    (tmp_path / "bad.ardm").write_bytes(b"ARZ\x01garbage")
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(tmp_path / "bad.ardm")


def test_model_file_is_set_before_opening_and_errors_are_oserrors(tiny_model_entry, tmp_path, monkeypatch):
    """Image.open takes no options: a file written with a model file decodes once use_model_file names it."""
    from ardmzip import pillow_plugin

    monkeypatch.setattr(pillow_plugin, "_model_file", None)
    src = Image.open(FIXTURES / "kodim05_crop17x33.png")
    src.save(tmp_path / "m.ardm", model=tiny_model_entry.path, budget=3)
    with pytest.raises(OSError, match="pass that file as model"):
        Image.open(tmp_path / "m.ardm").load()
    pillow_plugin.use_model_file(tiny_model_entry.path)
    assert same_pixels(Image.open(tmp_path / "m.ardm"), src)


def test_registry_files_ignore_the_model_file_setting(tiny_registry, tiny_model_entry, tmp_path, monkeypatch):
    from ardmzip import pillow_plugin

    monkeypatch.setattr(pillow_plugin, "_model_file", None)
    src = Image.open(FIXTURES / "kodim05_crop17x33.png")
    src.save(tmp_path / "r.ardm", budget=2)
    pillow_plugin.use_model_file(tiny_model_entry.path)
    assert same_pixels(Image.open(tmp_path / "r.ardm"), src)


def test_corrupt_pixel_data_raises_oserror_on_load(tiny_registry):
    """A damaged payload behind a forged checksum passes open() (the header is fine) and fails in load()."""
    from ardmzip import header as fmt

    buf = io.BytesIO()
    photo("RGB").save(buf, format="ARDM", budget=2)
    head, payload = fmt.unpack(buf.getvalue())
    forged = fmt.pack(head, payload[:len(payload) // 2])
    im = Image.open(io.BytesIO(forged))
    with pytest.raises(OSError, match="corrupt"):
        im.load()


@pytest.mark.parametrize("limit", [None, 300, 40_000_000])
def test_size_limits_are_pillows(tiny_registry, tmp_path, monkeypatch, limit):
    """Above Image.MAX_IMAGE_PIXELS Pillow warns at open, above twice it refuses; load and save allow
    what Pillow allows (not ardmzip's default --max-pixels, which a Pillow user cannot pass)."""
    import warnings

    from ardmzip import pillow_plugin

    src = Image.open(FIXTURES / "kodim05_crop17x33.png")  # 561 pixels
    src.save(tmp_path / "s.ardm", budget=2)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    limits = []
    monkeypatch.setattr(ardmzip.api, "decompress", lambda data, _real=ardmzip.api.decompress, **kw:
                        limits.append(kw["max_pixels"]) or _real(data, **kw))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        im = Image.open(tmp_path / "s.ardm")
    assert any(w.category is Image.DecompressionBombWarning for w in caught) == (limit == 300)
    assert same_pixels(im, src)
    assert limits == [ardmzip.api.MAX_PIXELS if limit is None else 2 * limit]
    assert limits[0] == pillow_plugin.pillow_max_pixels() > ardmzip.api.DEFAULT_MAX_PIXELS or limit == 300
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "s.ardm")
    with pytest.raises(Exception, match="exceeds the limit of 400 pixels"):
        src.save(tmp_path / "big.ardm")
    assert not (tmp_path / "big.ardm").exists()


def test_network_calls_are_limited_by_the_module_setting(tiny_registry, tmp_path, monkeypatch):
    """No Pillow setting covers calls, so MAX_CALLS does (read at each call, None lifts it), for load and save."""
    from ardmzip import pillow_plugin

    src = Image.open(FIXTURES / "kodim05_crop17x33.png")
    src.save(tmp_path / "c.ardm", budget=3)
    monkeypatch.setattr(pillow_plugin, "MAX_CALLS", 2)
    with pytest.raises(ardmzip.ArdmzipError, match="network calls, above the limit of 2"):
        src.save(tmp_path / "more.ardm", budget=3)
    assert not (tmp_path / "more.ardm").exists()
    with Image.open(tmp_path / "c.ardm") as im, pytest.raises(OSError, match="limit of 2"):
        im.load()
    monkeypatch.setattr(pillow_plugin, "MAX_CALLS", None)
    src.save(tmp_path / "more.ardm", budget=3)
    with Image.open(tmp_path / "c.ardm") as im:
        assert same_pixels(im, src)
    assert (tmp_path / "more.ardm").read_bytes() == (tmp_path / "c.ardm").read_bytes()
