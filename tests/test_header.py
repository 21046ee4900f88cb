import struct
import zlib
from dataclasses import replace

import pytest

from ardmzip.errors import CorruptFileError, FormatError
from ardmzip.header import EXTERNAL_MODEL_ID, FORMAT_VERSION, MAGIC, Header, pack, unpack

HEADER = Header(model_id=1, weights_tag=b"\x01\x02\x03\x04", precision=24, budget=64, mode="RGB",
                width=32, height=32, pixel_crc=0xDEADBEEF)
PAYLOAD = bytes(range(40))


def test_round_trip_and_compact_size():
    data = pack(HEADER, PAYLOAD)
    assert unpack(data) == (HEADER, PAYLOAD)
    assert len(data) - len(PAYLOAD) == 22  # 18 header bytes + 4-byte file CRC at 32x32


def test_optional_fields_round_trip():
    h = Header(model_id=7, weights_tag=b"abcd", precision=16, budget=100000, mode="PA", width=70000,
               height=3, pixel_crc=1, alpha_constant=128, palette=b"\x00\x03\x00abc\x00", icc=b"icc" * 100)
    assert unpack(pack(h, PAYLOAD)) == (h, PAYLOAD)


def test_wrong_magic():
    with pytest.raises(FormatError, match="not an ardmzip file"):
        unpack(b"\x89PNG\r\n\x1a\n" + bytes(40))


def test_newer_version_is_named():
    data = bytearray(pack(HEADER, PAYLOAD))
    data[len(MAGIC)] = FORMAT_VERSION + 1
    with pytest.raises(FormatError, match="newer"):
        unpack(bytes(data))


@pytest.mark.parametrize("keep", [0, 1, 2, 3, 5, 10, 21, 40, 61])
def test_every_truncation_is_detected(keep):
    data = pack(HEADER, PAYLOAD)
    with pytest.raises(CorruptFileError):
        unpack(data[:keep])


def test_every_single_bit_flip_is_detected():
    data = pack(HEADER, PAYLOAD)
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(FormatError):  # CorruptFileError is a FormatError
                unpack(bytes(bad))


def test_unknown_mode_bits_with_valid_crc_are_refused():
    body = bytearray(pack(HEADER, PAYLOAD)[:-4])
    body[11] = 0x07  # the mode byte: 7 is no mode
    with pytest.raises(CorruptFileError, match="mode"):
        unpack(bytes(body) + struct.pack("<I", zlib.crc32(body)))


def test_colour_key_round_trips():
    h = Header(model_id=1, weights_tag=b"abcd", precision=24, budget=3, mode="RGB", width=2, height=2,
               pixel_crc=5, colour_key=(0, 300, 65535))
    assert unpack(pack(h, PAYLOAD)) == (h, PAYLOAD)


def test_model_file_header_holds_the_whole_sha256():
    h = replace(HEADER, model_id=EXTERNAL_MODEL_ID, weights_tag=bytes(range(32)))
    data = pack(h, PAYLOAD)
    assert unpack(data) == (h, PAYLOAD)
    assert len(data) == len(pack(HEADER, PAYLOAD)) + 28
    with pytest.raises(ValueError, match="tag"):
        pack(replace(h, weights_tag=b"abcd"), PAYLOAD)


def test_icc_profile_bombs_are_refused(monkeypatch):
    import ardmzip.header as header

    monkeypatch.setattr(header, "MAX_ICC_BYTES", 1000)
    assert unpack(pack(replace(HEADER, icc=bytes(1000)), PAYLOAD))[0].icc == bytes(1000)
    with pytest.raises(CorruptFileError, match="ICC"):
        unpack(pack(replace(HEADER, icc=bytes(1001)), PAYLOAD))


@pytest.mark.parametrize("mode,key", [("RGBA", (1, 2, 3, 4)), ("LA", (1, 2)), ("P", (3,)), ("PA", (1, 2)),
                                      ("RGB", (70000, 0, 0)), ("L", (1 << 16,))])
def test_a_colour_key_no_image_can_have_is_refused(mode, key):
    """Found by the fuzzer: such a forged key decoded, then made the PNG writer raise (no ardmzip error)."""
    h = replace(HEADER, mode=mode, colour_key=key, palette=b"\x00\x00\x00\x00" if mode in ("P", "PA") else None)
    with pytest.raises(CorruptFileError, match="transparent colour"):
        unpack(pack(h, PAYLOAD))


def test_the_encoder_refuses_a_colour_key_beyond_16_bits():
    from PIL import Image

    from ardmzip.errors import UnsupportedImageError
    from ardmzip.image_planes import split_image

    im = Image.new("RGB", (2, 2))
    im.info["transparency"] = (65535, 0, 0)
    assert split_image(im).colour_key == (65535, 0, 0)
    im.info["transparency"] = (65536, 0, 0)
    with pytest.raises(UnsupportedImageError, match="transparency"):
        split_image(im)


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "1"])
def test_a_uniform_alpha_value_in_a_mode_without_alpha_is_refused(mode):
    """Found by the fuzzer: LA forged to L kept its alpha value in the header and dropped it on decoding."""
    h = replace(HEADER, mode=mode, alpha_constant=200, palette=b"\x00\x00\x00\x00" if mode == "P" else None)
    with pytest.raises(CorruptFileError, match="alpha"):
        unpack(pack(h, PAYLOAD))


def test_an_order_seed_needs_format_3_and_costs_its_varint():
    from ardmzip.header import ORDER_SEED_VERSION, version_for

    assert version_for(8) == 1 and version_for(16) == 2 and version_for(8, 5) == version_for(16, 5) == ORDER_SEED_VERSION
    h = replace(HEADER, order_seed=5, version=ORDER_SEED_VERSION)
    data = pack(h, PAYLOAD)
    assert unpack(data) == (h, PAYLOAD) and len(data) == len(pack(HEADER, PAYLOAD)) + 1
    sixteen = replace(h, bits=16, order_seed=300)
    assert unpack(pack(sixteen, PAYLOAD))[0] == sixteen
    with pytest.raises(ValueError, match="order seed"):
        pack(replace(HEADER, order_seed=5), PAYLOAD)  # format 1 cannot hold it


@pytest.mark.parametrize("version, seed_byte", [(1, 5), (2, 5), (3, 0)])
def test_an_order_flag_outside_format_3_or_with_seed_0_is_refused(version, seed_byte):
    """Never written: older formats have no bit 7, and seed 0 is written unflagged."""
    body = bytearray(pack(HEADER, PAYLOAD)[:-4])
    body[len(MAGIC)] = version
    at = 11  # the mode/flags byte, then width, height
    body[at] |= 0x80
    body[at + 3:at + 3] = bytes([seed_byte])
    with pytest.raises(CorruptFileError, match="mode" if version < 3 else "order seed"):
        unpack(bytes(body) + struct.pack("<I", zlib.crc32(body)))


@pytest.mark.parametrize("version", [2, 3])
def test_a_file_in_a_newer_format_than_it_needs_is_refused(version):
    """Never written (version_for: the oldest format that holds it), so each file has one encoding."""
    with pytest.raises(ValueError, match="format"):
        pack(replace(HEADER, version=version), PAYLOAD)
    body = bytearray(pack(HEADER, PAYLOAD)[:-4])
    body[len(MAGIC)] = version
    with pytest.raises(CorruptFileError, match=f"format {version} for a file of format 1"):
        unpack(bytes(body) + struct.pack("<I", zlib.crc32(body)))


@pytest.mark.parametrize("fields, needed", [(dict(bits=16), 2), (dict(order_seed=5), 3), (dict(bits=16, order_seed=5), 3)])
def test_pack_refuses_a_format_too_old_for_the_fields(fields, needed):
    with pytest.raises(ValueError, match=f"format 1 for a file of format {needed}"):
        pack(replace(HEADER, **fields), PAYLOAD)
    if needed == 3:  # format 2 holds 16 bits but not an order seed
        with pytest.raises(ValueError, match="format 2 for a file of format 3"):
            pack(replace(HEADER, version=2, **fields), PAYLOAD)


@pytest.mark.parametrize("fields, match", [(dict(bits=12), "12 bits"), (dict(bits=16, mode="P", version=2), "mode P"),
                                           (dict(order_seed=-1), "out of range"), (dict(order_seed=1 << 32, version=3), "out of range")])
def test_pack_refuses_impossible_fields(fields, match):
    with pytest.raises(ValueError, match=match):
        pack(replace(HEADER, **fields), PAYLOAD)


def _palette(mode: int, entries: bytes, tail: bytes = b"\x00") -> bytes:
    return struct.pack("<BH", mode, len(entries)) + entries + tail


@pytest.mark.parametrize("palette", [
    _palette(0, bytes(256 * 3)), _palette(1, bytes(256 * 4)), _palette(0, b""),
    _palette(0, bytes(6), struct.pack("<BH", 1, 1)), _palette(1, bytes(8), struct.pack("<BH", 2, 2) + b"\x00\xff"),
])
def test_every_palette_an_image_can_have_is_read(palette):
    h = replace(HEADER, mode="P", palette=palette)
    assert unpack(pack(h, PAYLOAD))[0] == h


@pytest.mark.parametrize("palette,says", [
    (_palette(0, bytes(340 * 3)), "palette of 1020 bytes"),  # found by an outside fuzz: Pillow then raised
    (_palette(1, bytes(512 * 4)), "palette of 2048 bytes"),
    (_palette(0, bytes(4)), "palette of 4 bytes"),  # not whole RGB entries
    (_palette(1, bytes(6)), "palette of 6 bytes"),
    (_palette(2, bytes(3)), "unknown palette mode"),
    (_palette(0, bytes(3), b"\x03\x01\x00"), "transparency kind 3"),  # was silently ignored
    (_palette(0, bytes(3), b""), "ends early"),
    (_palette(0, bytes(3), b"\x02\x05\x00ab"), "ends early"),
    (_palette(0, bytes(3), b"\x00x"), "left over"),
    (b"\x00\x03", "ends early"),
])
def test_a_palette_no_image_can_have_is_refused_when_the_header_is_read(palette, says):
    for mode in ("P", "PA"):
        with pytest.raises(CorruptFileError, match=says):
            unpack(pack(replace(HEADER, mode=mode, palette=palette), PAYLOAD))  # pack recomputes the CRC
