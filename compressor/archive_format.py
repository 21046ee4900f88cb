"""The archive file format: many images in one rANS stack (dataset mode), beside header.py's rules.

Layout (integers little-endian; "varint" = unsigned LEB128; image fields as in header.py):

    magic        3  b"ARA" (a single image is b"ARZ")
    version      1  ARCHIVE_VERSION
    model id     1  as in header.py, then the weights tag (4 bytes; 32 for a model file)
    precision    1  coder precision in bits
    budget       varint  network calls per coded plane
    orders       varint  K, generation orders weighed per bits-back image (0: none coded bits-back)
    count        varint  number of images, then for each image:
      name       varint length + UTF-8, a relative path ("/" between parts, no "." or "..")
      fields     header.pack_image_fields; flag bit 7: coded bits-back with its order as the latent
      pixel crc  4  CRC-32 of the image's decoded pixels
    payload      n  one rANS stack, 32-bit little-endian words; images pushed first to last
    file crc     4  CRC-32 of every byte before it
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Iterable

from .errors import CorruptFileError, FormatError
from .header import (Reader, check_preamble, checked_body, pack_image_fields, read_image_fields, tag_length, varint,
                     with_crc)
from .image_planes import MODE_CHANNELS

ARCHIVE_MAGIC = b"ARA"
ARCHIVE_VERSION = 1
ORDER_LATENT_FLAG = 0x80
MAX_NAME_BYTES = 4096
DRIVE = re.compile(r"[A-Za-z]:")  # "C:x.png" is relative to a drive on Windows; "shot 12:30.png" is a name


@dataclass(frozen=True)
class Entry:
    name: str
    mode: str
    width: int
    height: int
    pixel_crc: int
    order_latent: bool  # coded bits-back; otherwise with the model's fixed order, needing no bits on the stack
    alpha_constant: int | None = None
    palette: bytes | None = None
    icc: bytes | None = None
    colour_key: tuple[int, ...] | None = None

    @property
    def dims(self) -> int:
        return self.width * self.height * MODE_CHANNELS[self.mode]


@dataclass(frozen=True)
class ArchiveHeader:
    model_id: int
    weights_tag: bytes
    precision: int
    budget: int
    orders: int
    entries: tuple[Entry, ...]
    version: int = ARCHIVE_VERSION

    @property
    def dims(self) -> int:
        return sum(e.dims for e in self.entries)


def is_archive(data: bytes) -> bool:
    return bytes(data[:len(ARCHIVE_MAGIC)]) == ARCHIVE_MAGIC


def check_name(name: str) -> str:
    """A name that extracts inside the target folder: relative, no "..", no backslash, NUL or drive."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a file name of undecodable bytes, held as surrogates
        raise FormatError(f"image name is not valid UTF-8: {name!r}") from None
    if (not name or size > MAX_NAME_BYTES or "\\" in name or "\0" in name
            or any(p in ("", ".", "..") for p in name.split("/")) or DRIVE.match(name)):
        raise FormatError(f"unsafe or invalid image name in archive: {name!r}")
    return name


def extracted_name(name: str) -> str:
    """The file an image is extracted to (always PNG): photo.png -> photo.png, photo.jpg -> photo.jpg.png."""
    return name if name.lower().endswith(".png") else name + ".png"


def check_names(names: Iterable[str]) -> None:
    """Names that extract to distinct files, on case-insensitive file systems too, none inside another's file.

    "a" and "a.png" both extract to a.png; "d.png" and "d.png/x" need d.png as a file and a folder."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for name in names:
        out = extracted_name(check_name(name)).casefold()
        if out in files:
            other = files[out]
            raise FormatError(f"two images have the same name: {name}" if other == name else
                              f"images {other!r} and {name!r} would extract to the same file")
        files[out] = name
        parts = out.split("/")
        for i in range(1, len(parts)):
            folders.setdefault("/".join(parts[:i]), name)
    for out, name in files.items():
        if out in folders:
            raise FormatError(f"image {name!r} would extract to a file where {folders[out]!r} needs a folder")


def pack_archive(head: ArchiveHeader, payload: bytes, checked: bool = True) -> bytes:
    """The archive's bytes; checked=False writes what no encoder would (unsafe names, no images), for the fuzzer."""
    if len(head.weights_tag) != tag_length(head.model_id):
        raise ValueError(f"weights tag of {len(head.weights_tag)} bytes does not fit model id {head.model_id}")
    if checked:
        if not head.entries:
            raise FormatError("an archive needs at least one image")
        check_names(e.name for e in head.entries)
    out = bytearray(ARCHIVE_MAGIC)
    out += bytes([head.version, head.model_id]) + head.weights_tag
    out += bytes([head.precision]) + varint(head.budget) + varint(head.orders) + varint(len(head.entries))
    for e in head.entries:
        name = e.name.encode("utf-8")
        out += varint(len(name)) + name
        out += pack_image_fields(e, ORDER_LATENT_FLAG if e.order_latent else 0)
        out += struct.pack("<I", e.pixel_crc)
    return with_crc(bytes(out) + payload)


def unpack_archive(data: bytes) -> tuple[ArchiveHeader, bytes]:
    """Parse and verify an archive; returns its header and payload. Raises FormatError/CorruptFileError."""
    data = bytes(data)
    version = check_preamble(data, ARCHIVE_MAGIC, ARCHIVE_VERSION, noun="archive", fmt="archive format")
    r = Reader(checked_body(data))
    r.take(len(ARCHIVE_MAGIC) + 1)
    model_id = r.byte()
    tag = r.take(tag_length(model_id))
    precision, budget, orders, count = r.byte(), r.varint(), r.varint(), r.varint()
    if count == 0:  # never written: an empty archive would decode to nothing and call it success
        raise CorruptFileError("archive is corrupted (it holds no images)")
    entries = []
    for _ in range(count):
        raw = r.take(r.varint())
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("archive has an image name that is not UTF-8") from None
        fields, latent = read_image_fields(r, ORDER_LATENT_FLAG)
        (pixel_crc,) = struct.unpack("<I", r.take(4))
        entries.append(Entry(check_name(name), pixel_crc=pixel_crc, order_latent=bool(latent), **fields))
    if len({e.name for e in entries}) != len(entries):
        raise FormatError("archive has two images of the same name")
    head = ArchiveHeader(model_id, tag, precision, budget, orders, tuple(entries), version)
    return head, r.data[r.pos:]
