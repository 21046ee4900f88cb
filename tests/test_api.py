"""Round trips through the public API with the tiny test model, and every refusal it owes."""

import io

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.errors import ArdmzipError, CorruptFileError, FormatError, ModelError, UnsupportedImageError
from conftest import FIXTURES
from test_image_planes import photo
from tiny_model import tiny_entry


def assert_same_image(a: Image.Image, b: Image.Image) -> None:
    assert a.mode == b.mode and a.size == b.size
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ["kodim23_crop48x40.png", "kodim05_crop17x33.png", "kodim15_crop64x64.png"])
def test_real_photo_round_trip(tiny_registry, name):
    im = Image.open(FIXTURES / name)
    data = ardmzip.compress(FIXTURES / name, budget=5)
    assert_same_image(ardmzip.decompress(data), im)


def test_one_pixel_and_every_budget_extreme(tiny_registry):
    im = Image.fromarray(np.array([[[1, 2, 3]]], dtype=np.uint8))
    for budget in (1, 2, 3, 1000):
        assert_same_image(ardmzip.decompress(ardmzip.compress(im, budget=budget)), im)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "PA", "1"])
def test_every_mode_round_trips(tiny_registry, mode):
    im = photo(mode)
    out = ardmzip.decompress(ardmzip.compress(im, budget=6))
    assert_same_image(out, im)
    if mode in ("P", "PA"):
        assert out.getpalette() == im.getpalette()


@pytest.mark.parametrize("shape", [(5, 4), (5, 4, 1), (5, 4, 3), (5, 4, 4)])
def test_numpy_input(tiny_registry, shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = np.asarray(ardmzip.decompress(ardmzip.compress(a, budget=4)))
    assert np.array_equal(out.reshape(a.shape), a)


def test_bytes_do_not_depend_on_threads(tiny_registry):
    path = FIXTURES / "kodim15_crop64x64.png"
    one = ardmzip.compress(path, budget=7, threads=1)
    assert one == ardmzip.compress(path, budget=7, threads=2)
    assert_same_image(ardmzip.decompress(one, threads=2), Image.open(path))


def test_icc_profile_kept(tiny_registry):
    im = photo("RGB")
    im.info["icc_profile"] = b"profile" * 50
    out = ardmzip.decompress(ardmzip.compress(im, budget=3))
    assert out.info["icc_profile"] == b"profile" * 50


def test_inspect(tiny_registry, tiny_model_entry):
    h = ardmzip.inspect(ardmzip.compress(photo("LA"), budget=9, precision=20))
    assert (h.model_id, h.budget, h.precision, h.mode, h.width, h.height) == (
        tiny_model_entry.model_id, 9, 20, "LA", 48, 40)
    assert h.weights_tag == tiny_model_entry.weights_tag


def test_progress_counts_network_calls(tiny_registry):
    seen = []
    ardmzip.compress(photo("RGBA"), budget=4, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (8, 8)  # colour and alpha planes, 4 calls each


def test_progress_of_a_flow_counts_its_latents():
    """A flow's one pass is shown as the latents it codes (the padded image's), encoding and decoding."""
    image = Image.open(FIXTURES / "kodim05_crop17x33.png")
    seen, back = [], []
    data = ardmzip.compress(image, model="idf-c10", progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(np.asarray(ardmzip.decompress(data, progress=lambda d, t: back.append((d, t)))),
                          np.asarray(image))
    assert seen[-1] == back[-1] == (24 * 40 * 3, 24 * 40 * 3)  # padded to multiples of 8
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_corrupted_file_refused(tiny_registry):
    data = bytearray(ardmzip.compress(photo("RGB"), budget=3))
    data[len(data) // 2] ^= 0x10
    with pytest.raises(CorruptFileError):
        ardmzip.decompress(bytes(data))


def test_truncated_file_refused(tiny_registry):
    data = ardmzip.compress(photo("RGB"), budget=3)
    for keep in (0, 3, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptFileError):
            ardmzip.decompress(data[:keep])


def test_not_an_ardm_file(tiny_registry):
    with pytest.raises(FormatError, match="not an ardmzip file"):
        ardmzip.decompress((FIXTURES / "kodim05_crop17x33.png").read_bytes())


def test_unknown_model_and_changed_weights(tiny_registry, tmp_path, monkeypatch):
    data = ardmzip.compress(photo("L"), budget=3)
    with pytest.raises(ModelError, match="unknown model"):
        ardmzip.compress(photo("L"), model="no-such-model")
    other = tiny_entry(tmp_path, seed=5)  # same name and number, other weights
    monkeypatch.setattr(tiny_registry, "entries", {other.name: other})
    monkeypatch.setattr(tiny_registry, "_loaded", {})
    with pytest.raises(ModelError, match="other weights"):
        ardmzip.decompress(data)
    monkeypatch.setattr(tiny_registry, "entries", {})
    with pytest.raises(ModelError, match="does not have"):
        ardmzip.decompress(data)


def test_weights_file_must_match_registry_hash(tiny_registry, tiny_model_entry, tmp_path, monkeypatch):
    bad = tmp_path / "tampered.safetensors"
    bad.write_bytes(tiny_model_entry.path.read_bytes()[:-1] + b" ")
    entry = type(tiny_model_entry)(**{**tiny_model_entry.__dict__, "path": bad})
    monkeypatch.setattr(tiny_registry, "entries", {entry.name: entry})
    with pytest.raises(ModelError, match="do not match"):
        ardmzip.compress(photo("L"))


def test_bad_inputs(tiny_registry, tmp_path):
    with pytest.raises(UnsupportedImageError, match="no such file"):
        ardmzip.compress(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(UnsupportedImageError, match="not a readable image"):
        ardmzip.compress(tmp_path / "text.png")
    with pytest.raises(UnsupportedImageError, match="uint8"):
        ardmzip.compress(np.zeros((4, 4), dtype=np.float32))
    with pytest.raises(UnsupportedImageError, match="shape"):
        ardmzip.compress(np.zeros((4, 4, 2), dtype=np.uint8))
    with pytest.raises(ArdmzipError, match="budget"):
        ardmzip.compress(photo("L"), budget=0)


def test_deep_images_other_than_16_bit_grey_and_rgb_refused(tiny_registry, tmp_path):
    """16-bit greyscale and RGB are supported (test_sixteen_bit.py); 32-bit and 16-bit with alpha are not."""
    path = tmp_path / "deep.tif"
    Image.fromarray(np.arange(64, dtype=np.int32).reshape(8, 8) * 100000).save(path)
    with pytest.raises(UnsupportedImageError, match="16-bit greyscale and RGB"):
        ardmzip.compress(path)
    imagecodecs = pytest.importorskip("imagecodecs")
    path = tmp_path / "deep_rgba.png"
    path.write_bytes(imagecodecs.png_encode(np.full((4, 4, 4), 40000, dtype=np.uint16)))
    with pytest.raises(UnsupportedImageError, match="16"):  # Pillow would silently drop the low bytes
        ardmzip.compress(path)


def test_animated_refused(tiny_registry, tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (4, 4), (200 * i, 0, 0)) for i in range(2)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedImageError, match="animated"):
        ardmzip.compress(path)


def test_file_helpers_write_atomically(tiny_registry, tmp_path):
    src = FIXTURES / "kodim05_crop17x33.png"
    n = ardmzip.compress_file(src, tmp_path / "a.ardm", budget=3)
    assert (tmp_path / "a.ardm").stat().st_size == n
    ardmzip.decompress_file(tmp_path / "a.ardm", tmp_path / "a.png")
    assert_same_image(Image.open(tmp_path / "a.png"), Image.open(src))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ardm", "a.png"]
    assert Image.open(io.BytesIO((tmp_path / "a.png").read_bytes())).format == "PNG"


def test_palette_alpha_is_written_as_rgba_png(tiny_registry, tmp_path):
    im = photo("PA")
    (tmp_path / "pa.ardm").write_bytes(ardmzip.compress(im, budget=3))
    ardmzip.decompress_file(tmp_path / "pa.ardm", tmp_path / "pa.png")
    out = Image.open(tmp_path / "pa.png")
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out), np.asarray(im.convert("RGBA")))


def test_model_bits_sits_just_below_the_file_size(tiny_registry):
    im = photo("RGB")
    data = ardmzip.compress(im, budget=4)
    bits = ardmzip.model_bits(im, budget=4)
    assert bits < 8 * len(data) < bits * 1.01 + 8 * 26 + 32  # header, CRC and the final coder word


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_compress_measured_gives_the_bytes_and_bits_of_two_passes(tiny_registry, mode):
    im = photo(mode)
    out = ardmzip.compress_measured(im, budget=4)
    assert out.data == ardmzip.compress(im, budget=4)
    assert out.model_bits == pytest.approx(ardmzip.model_bits(im, budget=4), rel=1e-12)
    assert ardmzip.compress_measured(im, budget=4, measure=False) == (out.data, None, out.calls)
    assert out.calls == 4 * (2 if mode == "RGBA" else 1)  # four per plane: colour (or grey), alpha
    assert ardmzip.compress_measured(im, budget=4, search=3, measure=False).calls == 3 * out.calls


def test_a_flow_makes_one_call_per_plane_whatever_the_search():
    im = photo("RGBA")
    assert ardmzip.compress_measured(im, model="idf-c10", search=3, measure=False).calls == 2


def test_leftover_payload_is_refused_even_with_a_valid_checksum(tiny_registry):
    import struct
    import zlib

    data = ardmzip.compress(photo("L"), budget=3)
    body = data[:-4] + struct.pack("<I", 0x12345678)  # one extra coded word
    with pytest.raises(CorruptFileError):
        ardmzip.decompress(body + struct.pack("<I", zlib.crc32(body)))


def test_written_files_get_ordinary_permissions(tmp_path):
    import os

    from ardmzip.api import atomic_write

    atomic_write(tmp_path / "a.bin", b"x")
    (tmp_path / "b.bin").write_bytes(b"x")
    assert os.stat(tmp_path / "a.bin").st_mode == os.stat(tmp_path / "b.bin").st_mode


@pytest.mark.parametrize("mode,key", [("RGB", (0, 10, 200)), ("L", 7), ("1", 1)])
def test_colour_key_transparency_kept(tiny_registry, tmp_path, mode, key):
    im = photo(mode)
    im.info["transparency"] = key
    out = ardmzip.decompress(ardmzip.compress(im, budget=2))
    assert out.info["transparency"] == key
    (tmp_path / "k.ardm").write_bytes(ardmzip.compress(im, budget=2))
    ardmzip.decompress_file(tmp_path / "k.ardm", tmp_path / "k.png")
    if mode != "1":  # Pillow reads a 1-bit PNG's tRNS back on a 0..255 scale
        assert Image.open(tmp_path / "k.png").info["transparency"] == key


def test_palette_alpha_with_palette_transparency_writes_png(tiny_registry, tmp_path):
    im = photo("P").convert("PA")
    im.info["transparency"] = 1
    (tmp_path / "pa.ardm").write_bytes(ardmzip.compress(im, budget=2))
    ardmzip.decompress_file(tmp_path / "pa.ardm", tmp_path / "pa.png")
    assert Image.open(tmp_path / "pa.png").mode == "RGBA"


def _resized_header(data: bytes, width: int, height: int) -> bytes:
    """The same payload behind a header claiming another size, with a valid file checksum."""
    import dataclasses

    from ardmzip.header import pack, unpack

    head, payload = unpack(data)
    return pack(dataclasses.replace(head, width=width, height=height), payload)


def test_pixel_limit_refuses_bombs_before_loading_or_allocating(tiny_registry, monkeypatch):
    from ardmzip import model_file
    from ardmzip.api import DEFAULT_MAX_PIXELS

    data = ardmzip.compress(photo("RGB"), budget=2)
    def load(entry):
        raise RuntimeError("passed the limit")

    monkeypatch.setattr(model_file, "load", load)
    with pytest.raises(ardmzip.LimitError, match="5000x4000 pixels .* --max-pixels"):
        ardmzip.decompress(_resized_header(data, 5000, 4000))
    with pytest.raises(RuntimeError, match="passed the limit"):  # a 12 MP photo is within the default
        ardmzip.decompress(_resized_header(data, 4000, 3000))
    assert 4000 * 3000 <= DEFAULT_MAX_PIXELS < 5000 * 4000


def test_pixel_limit_is_configurable(tiny_registry):
    im = photo("RGB")  # 48x40
    with pytest.raises(ardmzip.LimitError):
        ardmzip.compress(im, budget=2, max_pixels=48 * 40 - 1)
    with pytest.raises(ardmzip.LimitError, match="kodim05"):
        ardmzip.compress(FIXTURES / "kodim05_crop17x33.png", max_pixels=100)
    with pytest.raises(ardmzip.LimitError):
        ardmzip.compress(np.zeros((11, 10), dtype=np.uint8), max_pixels=100)
    data = ardmzip.compress(im, budget=2, max_pixels=48 * 40)
    with pytest.raises(ardmzip.LimitError):
        ardmzip.decompress(data, max_pixels=48 * 40 - 1)
    assert_same_image(ardmzip.decompress(data, max_pixels=48 * 40), im)


def test_call_limit_refuses_a_forged_budget_before_decoding(tiny_registry, monkeypatch):
    """A file's budget sets the decoder's network calls: a forged one must not buy days of work."""
    import dataclasses

    from ardmzip.codecs.autoregressive import AutoregressiveCodec
    from ardmzip.header import pack, unpack

    data = ardmzip.compress(photo("RGB"), budget=2)  # 48x40x3: one call per sub-pixel is 5,760 calls
    head, payload = unpack(data)
    forged = pack(dataclasses.replace(head, budget=1 << 20), payload)
    monkeypatch.setattr(AutoregressiveCodec, "pop_batch", lambda *a, **k: pytest.fail("decoding started"))
    with pytest.raises(ardmzip.LimitError, match="5,760 network calls, above the limit of 4,096 .*--max-calls"):
        ardmzip.decompress(forged)


def test_call_limit_is_configurable_and_the_same_at_both_ends(tiny_registry):
    im, rgba = photo("RGB"), photo("RGBA")  # RGBA: colour and alpha planes, the budget's calls each
    with pytest.raises(ardmzip.LimitError, match="4 network calls, above the limit of 3"):
        ardmzip.compress(im, budget=4, max_calls=3)
    with pytest.raises(ardmzip.LimitError):
        ardmzip.model_bits(im, budget=4, max_calls=3)
    with pytest.raises(ardmzip.LimitError, match="8 network calls"):
        ardmzip.compress(rgba, budget=4, max_calls=7)
    calls = []
    with pytest.raises(ardmzip.LimitError, match="4 network calls"):  # one order's calls, refused before any
        ardmzip.compress(im, budget=4, max_calls=3, search=3, progress=lambda done, total: calls.append(done))
    assert calls == []
    data = ardmzip.compress(im, budget=4, max_calls=4)
    assert data == ardmzip.compress(im, budget=4)
    with pytest.raises(ardmzip.LimitError):
        ardmzip.decompress(data, max_calls=3)
    assert_same_image(ardmzip.decompress(data, max_calls=4), im)
    assert_same_image(ardmzip.decompress(ardmzip.compress(rgba, budget=4, max_calls=8), max_calls=8), rgba)


def test_no_payload_is_too_short_for_its_size(tiny_registry):
    """Why the limit is on pixels and not on payload length: all-zero images code to nothing at any size."""
    from ardmzip.header import unpack

    for shape in [(3, 5), (40, 30, 3)]:
        black = np.zeros(shape, dtype=np.uint8)
        data = ardmzip.compress(black, budget=2)
        assert unpack(data)[1] == b""
        assert np.array_equal(np.asarray(ardmzip.decompress(data)).reshape(shape), black)


def test_oversized_icc_profile_refused(tiny_registry, monkeypatch):
    from ardmzip import header

    monkeypatch.setattr(header, "MAX_ICC_BYTES", 100)
    im = photo("RGB")
    im.info["icc_profile"] = b"p" * 101
    with pytest.raises(UnsupportedImageError, match="ICC profile"):
        ardmzip.compress(im, budget=2)


def _order_files(im, budget: int, seeds: int) -> tuple[list[bytes], list[float]]:
    """Each generation order's file and model bits, coded one order at a time."""
    from ardmzip import _engine as engine

    entry = ardmzip.REGISTRY.get()
    net, parts = ardmzip.REGISTRY.load(entry), engine.image_parts(im, engine.DEFAULT_MAX_PIXELS)
    files, bits = [], []
    for seed in range(seeds):
        b = np.zeros(1)
        files += engine.encode_order(entry, net, [parts], budget, 24, None, b, seed)
        bits.append(float(b[0]))
    return files, bits


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_search_keeps_the_smallest_order_and_decodes_it(tiny_registry, mode):
    im = photo(mode)
    files, bits = _order_files(im, 4, 5)
    assert files[0] == ardmzip.compress(im, budget=4) == ardmzip.compress(im, budget=4, search=1)
    assert len(set(files)) == 5, "each seed codes another order"
    best = min(range(5), key=lambda s: (len(files[s]), s))
    out = ardmzip.compress_measured(im, budget=4, search=5)
    assert out.data == files[best] and out.model_bits == bits[best]
    head = ardmzip.inspect(out.data)
    assert head.order_seed == best != 0 and head.version == 3
    assert_same_image(ardmzip.decompress(out.data), im)
    assert len(ardmzip.compress(im, budget=4, search=3)) >= len(out.data)


def test_search_progress_counts_every_order_s_calls(tiny_registry):
    seen = []
    ardmzip.compress(photo("RGB"), budget=4, search=3, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_search_is_refused_outside_its_range(tiny_registry):
    for search in (0, ardmzip.api.MAX_SEARCH + 1):
        with pytest.raises(ArdmzipError, match="search must be between"):
            ardmzip.compress(photo("RGB"), budget=4, search=search)

