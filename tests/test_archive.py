"""Dataset mode: archives of mixed images round trip exactly, with names; damaged or unsafe ones are refused."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip import model_file
from ardmzip.archive import compress_archive, decompress_archive, encode_archive, inspect_archive
from ardmzip.archive_format import check_name, check_names, extracted_name
from ardmzip.errors import ArdmzipError, CorruptFileError, FormatError
from ardmzip.header import varint, with_crc
from ardmzip.registry import REGISTRY, file_sha256
from conftest import FIXTURES
from test_api import assert_same_image
from test_image_planes import photo
from tiny_flows import tiny_idf_entry
from tiny_model import tiny_entry


def mixed_images():
    """Every mode, odd sizes, a 1x1 image and a file path: what an archive must hold."""
    rng = np.random.default_rng(0)
    sizes = [(9, 7), (4, 11), (6, 6), (13, 3), (5, 8), (7, 5), (3, 3)]
    images = [(f"{mode}.png", photo(mode).crop((2 * i, i, 2 * i + w, i + h)))
              for i, (mode, (w, h)) in enumerate(zip(["RGB", "RGBA", "L", "LA", "P", "PA", "1"], sizes))]
    images += [("dir/one.png", Image.fromarray(np.array([[[1, 2, 3]]], dtype=np.uint8))),
               ("kodim05.png", FIXTURES / "kodim05_crop17x33.png")]
    images += [(f"noise{i}.png", Image.fromarray(rng.integers(0, 256, (5 + i, 4, 3), dtype=np.uint8)))
               for i in range(4)]
    return images


def loaded(image):
    return image if isinstance(image, Image.Image) else Image.open(image)


@pytest.mark.parametrize("orders", [0, 1, 2])
def test_mixed_archive_round_trips_with_names(tiny_registry, orders):
    images = mixed_images()
    encoded = encode_archive(images, budget=3, orders=orders)
    head = inspect_archive(encoded.data)
    assert [e.name for e in head.entries] == [n for n, _ in images]
    latent = [e.order_latent for e in head.entries]
    assert latent == [c.order_latent for c in encoded.costs]
    assert not latent[0]  # the stack starts empty: the first image supplies the initial bits
    assert any(latent) == (orders > 0)
    payload_bits = 8 * (len(encoded.data) - len(_header_bytes(head, encoded.data)))
    assert abs(sum(c.stack_bits for c in encoded.costs) - payload_bits) <= 64
    out = decompress_archive(encoded.data)
    assert [n for n, _ in out] == [n for n, _ in images]
    for (_, got), (_, want) in zip(out, images):
        want = loaded(want)
        assert_same_image(got, want)
        if want.mode in ("P", "PA"):
            assert got.getpalette() == want.getpalette()


def _header_bytes(head, data):
    """Everything but the payload: the archive's bytes less its stack words (file CRC included)."""
    stack = ardmzip.archive._checked(data)[1]
    return data[:len(data) - len(stack)]


def test_archive_is_smaller_than_single_files_and_independent_of_threads(tiny_registry):
    images = mixed_images()[7:]
    singles = sum(len(ardmzip.compress(im, budget=3)) for _, im in images)
    data = compress_archive(images, budget=3, orders=0)
    assert len(data) < singles  # one header and one final coder state instead of one per image
    assert compress_archive(images, budget=3, orders=1, threads=2) == compress_archive(images, budget=3, orders=1,
                                                                                      threads=1)


@pytest.mark.parametrize("name", ["/abs.png", "../up.png", "a/../b.png", "a\\b.png", "", "a//b.png", "./a.png",
                                  "C:x.png", "a\0.png"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(FormatError):
        check_name(name)


def test_safe_relative_names_pass():
    assert check_name("dir/sub/a b.png") == "dir/sub/a b.png"
    assert check_name("shot 12:30.png") == "shot 12:30.png"  # a colon is a drive only as "C:" in front
    assert check_name("dir/C:x.png") == "dir/C:x.png"


@pytest.mark.parametrize("name", ["c:/x.png", "Z:x.png"])
def test_drive_prefixes_are_refused(name):
    with pytest.raises(FormatError, match="unsafe"):
        check_name(name)


def test_a_name_that_is_not_utf8_is_a_clear_error():
    name = b"\xffshot.png".decode("utf-8", "surrogateescape")  # how Python holds such a file name
    with pytest.raises(FormatError, match="not valid UTF-8"):
        check_name(name)


@pytest.mark.parametrize("names", [["a", "a.png"], ["A.png", "a.png"], ["x/b.jpg", "X/B.JPG.png"]])
def test_names_extracting_to_one_file_are_refused(names):
    with pytest.raises(FormatError, match="same file"):
        check_names(names)


@pytest.mark.parametrize("names", [["d.png", "d.png/x"], ["D.PNG/x.png", "e/f.png", "d.png"]])
def test_a_file_where_another_image_needs_a_folder_is_refused(names):
    with pytest.raises(FormatError, match="needs a folder"):
        check_names(names)


def test_distinct_outputs_pass_and_are_named_as_single_files_are():
    check_names(["a.png", "a.jpg", "a/b.png", "b", "d/e.png"])
    assert [extracted_name(n) for n in ("a.png", "a.PNG", "b.jpg", "c")] == ["a.png", "a.PNG", "b.jpg.png", "c.png"]


def test_colliding_names_are_refused_before_coding(tiny_registry):
    one = mixed_images()[7][1]
    with pytest.raises(FormatError, match="same file"):
        compress_archive([("a", one), ("a.png", one)], budget=2)
    with pytest.raises(FormatError, match="needs a folder"):
        compress_archive([("d.png", one), ("d.png/x", one)], budget=2)


def test_an_archive_of_no_images_is_corrupt(tiny_registry):
    data = compress_archive(mixed_images()[7:8], budget=2, orders=1)
    head = inspect_archive(data)
    fixed = 3 + 1 + 1 + len(head.weights_tag) + 1 + len(varint(head.budget)) + len(varint(head.orders))
    empty = with_crc(data[:fixed] + varint(0))
    for bad in (empty, with_crc(data[:fixed] + varint(0) + data[-8:-4])):
        with pytest.raises(CorruptFileError, match="no images"):
            inspect_archive(bad)
        with pytest.raises(CorruptFileError, match="no images"):
            decompress_archive(bad)


def forged(data: bytes, old: bytes, new: bytes) -> bytes:
    """The archive with bytes replaced and its checksum recomputed, as an attacker would."""
    body = data[:-4].replace(old, new, 1)
    return body + struct.pack("<I", zlib.crc32(body))


def test_unsafe_name_in_a_valid_archive_is_refused_before_decoding(tiny_registry):
    data = compress_archive([("xx/evil.png", mixed_images()[7][1])], budget=2)
    with pytest.raises(FormatError, match="unsafe"):
        decompress_archive(forged(data, b"xx/evil", b"../evil"))
    with pytest.raises(FormatError, match="same name"):
        decompress_archive(forged(compress_archive([("a.png", mixed_images()[7][1]), ("b.png", mixed_images()[8][1])],
                                                   budget=2), b"b.png", b"a.png"))


def test_damaged_archives_are_refused(tiny_registry):
    data = compress_archive(mixed_images()[7:10], budget=2, orders=1)
    for bad in (data[:-1], data[:len(data) // 2], data[:5], data[:2], b""):
        with pytest.raises(CorruptFileError):
            decompress_archive(bad)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    with pytest.raises(CorruptFileError):
        decompress_archive(bytes(flipped))
    with pytest.raises(FormatError, match="newer"):
        decompress_archive(data[:3] + bytes([9]) + data[4:])
    with pytest.raises(FormatError, match="not an ardmzip archive"):
        decompress_archive(ardmzip.compress(mixed_images()[7][1], budget=2))
    with pytest.raises(CorruptFileError):  # a forged, checksummed but shortened payload
        body = data[:-8]
        decompress_archive(body + struct.pack("<I", zlib.crc32(body)))


def test_bad_requests_are_clear_errors(tiny_registry):
    one = mixed_images()[7][1]
    with pytest.raises(ArdmzipError, match="same name"):
        compress_archive([("a.png", one), ("a.png", one)])
    with pytest.raises(ArdmzipError, match="at least one"):
        compress_archive([])
    with pytest.raises(ArdmzipError, match="orders"):
        compress_archive([("a.png", one)], orders=1000)
    with pytest.raises(ArdmzipError, match="b.png"):
        compress_archive([("a.png", one), ("b.png", FIXTURES / "missing.png")])


def test_an_image_error_names_the_image_once(tiny_registry, tmp_path):
    text = tmp_path / "n.txt"
    text.write_text("not an image")
    with pytest.raises(ArdmzipError) as e:
        compress_archive([("n.txt", text)], budget=2)
    assert str(e.value).startswith("n.txt: ") and str(e.value).count("n.txt") == 1, str(e.value)
    with pytest.raises(ArdmzipError, match="^a.png: arrays must be uint8"):
        compress_archive([("a.png", np.zeros((2, 2), dtype=np.float32))], budget=2)


def test_a_model_file_is_resolved_once_and_recorded(tiny_registry, tmp_path, monkeypatch):
    """Hashing a model file once per image was slow, and the header took its tag from the last hash."""
    path = tiny_entry(tmp_path, seed=3, name="own").path
    calls = []
    resolve = model_file.resolve
    monkeypatch.setattr(model_file, "resolve", lambda spec: calls.append(spec) or resolve(spec))
    images = mixed_images()[7:10]
    data = compress_archive(images, model=path, budget=2, orders=1)
    assert calls == [path]
    assert inspect_archive(data).weights_tag.hex() == file_sha256(path)
    for (_, got), (_, want) in zip(decompress_archive(data, model=path), images):
        assert_same_image(got, loaded(want))


def test_sixteen_bit_images_are_refused_clearly(tiny_registry):
    with pytest.raises(ArdmzipError, match="16-bit"):
        compress_archive([("dem.png", FIXTURES / "dem_crop48x40_16bit.png")], budget=2)


def test_a_discrete_flow_archive_codes_every_image_without_an_order(tmp_path, monkeypatch):
    """A flow has no generation order: its archives never code bits-back, and still round trip."""
    entry = tiny_idf_entry(tmp_path)
    monkeypatch.setattr(REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    images = mixed_images()[7:11]
    encoded = encode_archive(images, model=entry.name, orders=2)
    assert not any(c.order_latent for c in encoded.costs)
    for (_, got), (_, want) in zip(decompress_archive(encoded.data), images):
        assert_same_image(got, loaded(want))


@pytest.mark.parametrize("orders", [1, 2])
def test_a_dispersed_model_codes_bits_back_from_its_second_image(tmp_path, monkeypatch, orders):
    """Its latent is a 16-bit variant number per order, so the first image's bits already pay for the next pop."""
    entry = tiny_entry(tmp_path, order="dispersed")
    monkeypatch.setattr(REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    images = mixed_images()
    encoded = encode_archive(images, model=entry.name, budget=3, orders=orders)
    assert [c.order_latent for c in encoded.costs] == [False] + [True] * (len(images) - 1)
    for (_, got), (_, want) in zip(decompress_archive(encoded.data), images):
        assert_same_image(got, loaded(want))


def test_single_image_decoder_names_an_archive(tiny_registry):
    data = compress_archive(mixed_images()[7:8], budget=2)
    with pytest.raises(FormatError, match="archive"):
        ardmzip.decompress(data)


def test_archives_above_the_total_pixel_limit_are_refused_before_the_model_loads(tiny_registry, monkeypatch):
    from ardmzip import archive
    from ardmzip.errors import LimitError

    images = mixed_images()[7:10]
    total = sum(loaded(im).width * loaded(im).height for _, im in images)
    with pytest.raises(LimitError, match="in all"):
        compress_archive(images, budget=2, max_total_pixels=total - 1)
    data = compress_archive(images, budget=2, max_total_pixels=total)
    assert len(decompress_archive(data, max_total_pixels=total)) == 3
    monkeypatch.setattr(archive.model_file, "load", lambda entry: pytest.fail("model loaded"))
    with pytest.raises(LimitError, match=f"{total:,} pixels in all"):
        decompress_archive(data, max_total_pixels=total - 1)


def test_archive_images_above_the_call_limit_are_refused_before_any_is_decoded(tiny_registry, monkeypatch):
    from ardmzip.codecs.autoregressive import AutoregressiveCodec
    from ardmzip.errors import LimitError

    images = mixed_images()[7:9]  # a 1x1 image (3 values: at most 3 calls), then a 17x33 crop
    with pytest.raises(LimitError, match="dir/one.png: coding this image takes 2 network calls, above the limit of 1"):
        compress_archive(images, budget=2, orders=0, max_calls=1)
    data = compress_archive(images, budget=100, orders=0)
    assert len(decompress_archive(data, max_calls=100)) == 2
    monkeypatch.setattr(AutoregressiveCodec, "pop", lambda *a, **k: pytest.fail("decoding started"))
    with pytest.raises(LimitError, match="kodim05.png: coding this image takes 100 network calls"):
        decompress_archive(data, max_calls=99)  # kodim05 comes off the stack last, the tiny image first


@pytest.mark.parametrize("orders", [1, 2])
def test_bits_back_counts_the_weighing_passes_and_keeps_within_the_limit(tiny_registry, orders):
    """K > 1 orders take a pass each to weigh, then one to code; an image that would pass the limit
    so is coded with the fixed order instead, and its archive decodes within the same limit."""
    from ardmzip.errors import LimitError

    images = [(f"{i}.png", im) for i, (_, im) in enumerate(mixed_images()[9:] * 2)]  # RGB: 2 calls at budget 2
    free = encode_archive(images, budget=2, orders=orders)
    assert any(c.order_latent for c in free.costs)
    passes = 2 * (orders + 1 if orders > 1 else 1)
    assert encode_archive(images, budget=2, orders=orders, max_calls=passes).data == free.data
    with pytest.raises(LimitError, match=f"takes {passes} network calls"):
        decompress_archive(free.data, max_calls=passes - 1)
    capped = encode_archive(images, budget=2, orders=orders, max_calls=2)
    assert (capped.data == free.data) == (passes == 2)
    assert all(not c.order_latent for c in capped.costs) or passes == 2
    assert len(decompress_archive(capped.data, max_calls=2)) == len(images)


def test_a_tiny_archive_claiming_many_huge_images_is_refused_at_once(tiny_registry):
    """Each image is under the per-image limit and an empty payload is a valid all-zero image, so
    only the total limit stops a few hundred bytes from claiming 100 x 16.7 MP."""
    from ardmzip.archive_format import ArchiveHeader, Entry, pack_archive
    from ardmzip.errors import LimitError

    small = compress_archive(mixed_images()[7:8], budget=2, orders=0)
    head = inspect_archive(small)
    side = 1 << 12  # 4096 x 4096 = the default per-image limit
    entries = tuple(Entry(f"{i}.png", "L", side, side, 0, False) for i in range(100))
    bomb = pack_archive(ArchiveHeader(head.model_id, head.weights_tag, head.precision, 2, 0, entries), b"")
    assert len(bomb) < 2000
    with pytest.raises(LimitError, match="in all"):
        decompress_archive(bomb)
    fixed = 3 + 1 + 1 + len(head.weights_tag) + 1 + len(varint(head.budget)) + len(varint(head.orders))
    claim = with_crc(small[:fixed] + varint((1 << 32) - 1) + b"\x05a.png")  # 4 billion images, one name
    with pytest.raises(CorruptFileError, match="truncated"):  # parsing stops where the bytes end
        decompress_archive(claim)
