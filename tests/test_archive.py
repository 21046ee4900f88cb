"""Dataset mode: archives of mixed images round trip exactly, with names; damaged or unsafe ones are refused."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.archive import compress_archive, decompress_archive, encode_archive, inspect_archive
from ardmzip.archive_format import check_name
from ardmzip.errors import ArdmzipError, CorruptFileError, FormatError
from ardmzip.registry import REGISTRY
from conftest import FIXTURES
from test_api import assert_same_image
from test_image_planes import photo
from tiny_flows import tiny_idf_entry


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


def test_single_image_decoder_names_an_archive(tiny_registry):
    data = compress_archive(mixed_images()[7:8], budget=2)
    with pytest.raises(FormatError, match="archive"):
        ardmzip.decompress(data)
