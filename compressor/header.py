"""The .ardm file format: the one definition of every byte around the coded stream.

Layout (integers little-endian; "varint" = unsigned LEB128, 1 byte below 128):

    magic        3  b"ARZ"
    version      1  the oldest format that holds the file (version_for): 1; 2 for a 16-bit image; 3 for a
                    file with an order seed (8-bit files without one stay format 1, readable by ardmzip 0.1.0)
    model id     1  registry number of the model; 0 (EXTERNAL_MODEL_ID): a model file given by path
    weights tag  4  first 4 bytes of the sha256 of the model's weights file (model id 0: all 32 bytes,
                    since no registry vouches for the file and decoding must be given the same one)
    precision    1  coder precision in bits
    budget       varint  network calls per coded plane
    mode/flags   1  low 3 bits: image mode; bit 3: ICC profile; bit 4: uniform alpha; bit 5: colour key;
                    bit 6 (format 2): 16 bits per sample, modes L and RGB (high bytes coded by the model,
                    then low bytes by ardmzip.codecs.low_bytes); bit 7 (format 3): order seed follows
    width        varint
    height       varint
    [alpha       1  the uniform alpha value, if flagged]
    [colour key  varint per channel: the transparent colour of RGB, L and 1 images, if flagged]
    [palette     varint length + bytes, modes P and PA]
    [icc         varint length + zlib-compressed profile (at most MAX_ICC_BYTES unpacked), if flagged]
    [order seed  varint >= 1: the variant of the model's generation order (models/orders.py), if flagged;
                 unflagged, seed 0, the model's fixed order]
    pixel crc    4  CRC-32 of the decoded pixels (ImageParts.pixel_checksum)
    payload      n  rANS stack, 32-bit little-endian words
    file crc     4  CRC-32 of every byte before it

A 32x32 RGB image has an 18-byte header plus the 4-byte file CRC. Archives (many images in one
file, magic b"ARA") are laid out in archive_format.py from the image-field, varint and CRC helpers here.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import CorruptFileError, FormatError
from .image_planes import ALPHA_MODES, KEY_MODES, MAX_KEY, MODE_CHANNELS, MODES, read_palette

MAGIC = b"ARZ"
FORMAT_VERSION = 3  # the newest format read and written
SIXTEEN_BIT_VERSION = 2  # format 2 added 16-bit samples; nothing else changed
ORDER_SEED_VERSION = 3  # format 3 added the order seed (compress's search); nothing else changed
MAX_ORDER_SEED = (1 << 32) - 1
SIXTEEN_BIT_MODES = ("L", "RGB")
_SIXTEEN_FLAG = 0x40
_ORDER_FLAG = 0x80
_ICC_FLAG = 0x08
_ALPHA_FLAG = 0x10
_KEY_FLAG = 0x20
_MODE_MASK = 0x07
_CRC_BYTES = 4
EXTERNAL_MODEL_ID = 0  # never a registry number: the model is a file the user passes by path
MAX_ICC_BYTES = 1 << 24  # an ICC profile unpacks to at most this, so a tiny file cannot inflate to gigabytes


@dataclass(frozen=True)
class Header:
    model_id: int
    weights_tag: bytes
    precision: int
    budget: int
    mode: str
    width: int
    height: int
    pixel_crc: int
    alpha_constant: int | None = None
    palette: bytes | None = None
    icc: bytes | None = None
    colour_key: tuple[int, ...] | None = None
    bits: int = 8  # per sample: 8, or 16 in modes L and RGB
    version: int = 1  # version_for(bits, order_seed)
    order_seed: int = 0  # generation order of the planes; 0: the model's fixed order

    @property
    def dims(self) -> int:
        """Dimensions of the image (pixels times channels), the denominator of bits per dimension."""
        return self.width * self.height * MODE_CHANNELS[self.mode]


def version_for(bits: int, order_seed: int = 0) -> int:
    """The oldest format that holds a file of these bits per sample and order seed, so 8-bit files of the
    fixed order stay format 1."""
    return ORDER_SEED_VERSION if order_seed else SIXTEEN_BIT_VERSION if bits == 16 else 1


def tag_length(model_id: int) -> int:
    """Bytes of the weights tag: a registry model is identified by its number, a model file by its hash alone."""
    return 32 if model_id == EXTERNAL_MODEL_ID else 4


def weights_tag(model_id: int, sha256: str) -> bytes:
    """The weights tag a file records for a model whose weights file has this sha256 (hex)."""
    return bytes.fromhex(sha256)[:tag_length(model_id)]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CorruptFileError("file is truncated (header ends early)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self, max_bits: int = 32) -> int:
        n = shift = 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
            if shift >= max_bits:
                raise CorruptFileError("file is corrupted (malformed number in header)")


def pack(header: Header, payload: bytes) -> bytes:
    """The whole file: header, payload and the trailing CRC."""
    if len(header.weights_tag) != tag_length(header.model_id):
        raise ValueError(f"weights tag of {len(header.weights_tag)} bytes does not fit model id {header.model_id}")
    out = bytearray(MAGIC)
    out += bytes([header.version, header.model_id]) + header.weights_tag
    out += bytes([header.precision]) + varint(header.budget)
    if header.bits not in (8, 16) or header.bits == 16 and header.mode not in SIXTEEN_BIT_MODES:
        raise ValueError(f"{header.bits} bits per sample in mode {header.mode}")
    if not 0 <= header.order_seed <= MAX_ORDER_SEED:
        raise ValueError(f"order seed {header.order_seed} out of range")
    needed = version_for(header.bits, header.order_seed)
    if header.version != needed:  # one check for both: version_for is the only format a file may have
        raise ValueError(f"format {header.version} for a file of format {needed} "
                         f"({header.bits} bits per sample, order seed {header.order_seed})")
    out += pack_image_fields(header, (_SIXTEEN_FLAG if header.bits == 16 else 0) | (_ORDER_FLAG if header.order_seed else 0))
    if header.order_seed:
        out += varint(header.order_seed)
    out += struct.pack("<I", header.pixel_crc) + payload
    return with_crc(bytes(out))


def with_crc(body: bytes) -> bytes:
    """A file's bytes: the body and its trailing CRC-32."""
    return body + struct.pack("<I", zlib.crc32(body))


def pack_image_fields(image, extra_flags: int = 0) -> bytes:
    """Mode/flags byte, size and the optional fields of an image with Header's image attributes
    (mode, width, height, alpha_constant, colour_key, palette, icc); extra_flags sets bits 6-7."""
    flags = MODES.index(image.mode) | extra_flags
    if image.icc:
        flags |= _ICC_FLAG
    if image.alpha_constant is not None:
        flags |= _ALPHA_FLAG
    if image.colour_key is not None:
        flags |= _KEY_FLAG
    out = bytearray([flags]) + varint(image.width) + varint(image.height)
    if image.alpha_constant is not None:
        out.append(image.alpha_constant)
    if image.colour_key is not None:
        out += b"".join(varint(v) for v in image.colour_key)
    if image.mode in ("P", "PA"):
        out += varint(len(image.palette)) + image.palette
    if image.icc:
        icc = zlib.compress(image.icc, 9)
        out += varint(len(icc)) + icc
    return bytes(out)


def checked_body(data: bytes) -> bytes:
    """A file's bytes before its trailing CRC-32, which must match them."""
    body, (crc,) = data[:-_CRC_BYTES], struct.unpack("<I", data[-_CRC_BYTES:])
    if zlib.crc32(body) != crc:
        raise CorruptFileError("file is corrupted or truncated (checksum mismatch)")
    return body


def _inflate_icc(packed: bytes) -> bytes:
    """The ICC profile, refusing one that would unpack beyond MAX_ICC_BYTES (a zlib bomb)."""
    inflater = zlib.decompressobj()
    try:
        icc = inflater.decompress(packed, MAX_ICC_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CorruptFileError(f"file is corrupted (ICC profile is damaged or larger than {MAX_ICC_BYTES} bytes)")
    except zlib.error:
        raise CorruptFileError("file is corrupted (bad ICC profile data)") from None
    return icc


def check_preamble(data: bytes, magic: bytes, newest: int, noun: str = "file", fmt: str = "format") -> int:
    """The format version after `magic`, once the bytes are long enough to hold it and a CRC; the errors
    name the kind of file (noun) and of format (fmt), so files and archives share these checks."""
    if not data:
        raise CorruptFileError(f"{noun} is empty")
    if not data.startswith(magic):
        if len(data) < len(magic) and magic.startswith(data):
            raise CorruptFileError(f"{noun} is truncated (shorter than the magic bytes)")
        raise FormatError(f"not an ardmzip {noun} (wrong magic bytes)")
    if len(data) < len(magic) + 1:
        raise CorruptFileError(f"{noun} is truncated (no format version)")
    version = data[len(magic)]
    if version > newest:
        raise FormatError(f"{noun} was written by a newer ardmzip ({fmt} {version}; this version reads {newest})")
    if version < 1:
        raise FormatError(f"unknown {fmt} version {version}")
    if len(data) < len(magic) + 1 + _CRC_BYTES:
        raise CorruptFileError(f"{noun} is truncated")
    return version


def unpack(data: bytes) -> tuple[Header, bytes]:
    """Parse and verify a file; returns the header and the payload. Raises FormatError/CorruptFileError."""
    data = bytes(data)
    version = check_preamble(data, MAGIC, FORMAT_VERSION)
    body = checked_body(data)
    r = Reader(body)
    r.take(len(MAGIC) + 1)
    model_id = r.byte()
    tag = r.take(tag_length(model_id))
    precision = r.byte()
    budget = r.varint()
    extra = (_SIXTEEN_FLAG if version >= SIXTEEN_BIT_VERSION else 0) | (_ORDER_FLAG if version >= ORDER_SEED_VERSION else 0)
    fields, flags = read_image_fields(r, extra)
    sixteen = flags & _SIXTEEN_FLAG
    if flags & _ORDER_FLAG:
        fields["order_seed"] = r.varint()
        if not 1 <= fields["order_seed"] <= MAX_ORDER_SEED:  # never written: seed 0 is written unflagged
            raise CorruptFileError("file is corrupted (order seed out of range)")
    if sixteen and (fields["mode"] not in SIXTEEN_BIT_MODES or fields["alpha_constant"] is not None
                    or fields["colour_key"] is not None):
        raise CorruptFileError("file is corrupted (16 bits per sample in a mode that cannot have them)")
    fields["bits"] = 16 if sixteen else 8
    needed = version_for(fields["bits"], fields.get("order_seed", 0))
    if version != needed:  # never written: one file, one format
        raise CorruptFileError(f"file is corrupted (format {version} for a file of format {needed})")
    (pixel_crc,) = struct.unpack("<I", r.take(4))
    header = Header(model_id, tag, precision, budget, pixel_crc=pixel_crc, version=version, **fields)
    return header, body[r.pos:]


def read_image_fields(r: Reader, extra_flags: int = 0) -> tuple[dict, int]:
    """The fields `pack_image_fields` wrote, by Header attribute name, and which of extra_flags were set."""
    flags = r.byte()
    if flags & _MODE_MASK >= len(MODES) or flags & ~(_MODE_MASK | _ICC_FLAG | _ALPHA_FLAG | _KEY_FLAG | extra_flags):
        raise CorruptFileError("file is corrupted (unknown image mode)")
    mode = MODES[flags & _MODE_MASK]
    width, height = r.varint(), r.varint()
    alpha = r.byte() if flags & _ALPHA_FLAG else None
    if alpha is not None and mode not in ALPHA_MODES:  # never written: the image would lose it on decoding
        raise CorruptFileError(f"file is corrupted (a uniform alpha value in mode {mode})")
    key = tuple(r.varint() for _ in range(MODE_CHANNELS[mode])) if flags & _KEY_FLAG else None
    if key is not None and (mode not in KEY_MODES or max(key) > MAX_KEY):  # never written: no image has it
        raise CorruptFileError(f"file is corrupted (a transparent colour in mode {mode}, or beyond 16 bits)")
    palette = r.take(r.varint()) if mode in ("P", "PA") else None
    if palette is not None:
        read_palette(palette)  # refuses entries or a transparency kind no image has, before any decoding
    icc = _inflate_icc(r.take(r.varint())) if flags & _ICC_FLAG else None
    fields = dict(mode=mode, width=width, height=height, alpha_constant=alpha, palette=palette, icc=icc,
                  colour_key=key)
    return fields, flags & extra_flags
