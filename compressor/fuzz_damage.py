"""The fuzzer's damage: what disks, networks and forgers do to a valid file or archive.

PLAIN damage leaves the file checksum as it is: bit flips, truncations, extensions, splices of
random bytes, and crosses with another valid file (of any kind). FORGED damage recomputes the file
checksum, so that only the decoder's own checks stand: header fields rewritten to plausible or
hostile values (for an archive, its images' names, sizes, modes, order flags and count too),
random header bytes, and payloads rewritten or swapped for another file's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .archive_format import ArchiveHeader, Entry, is_archive, pack_archive, unpack_archive
from .header import (EXTERNAL_MODEL_ID, MAX_ORDER_SEED, SIXTEEN_BIT_MODES, Header, pack, tag_length, unpack, version_for,
                     with_crc)
from .image_planes import MODES

PLAIN = ("flip", "truncate", "extend", "splice", "cross")
FORGED = ("header-field", "header-bytes", "payload", "payload-swap")
BIG = (0, 1, 2, 1 << 14, (1 << 28) + 1, (1 << 32) - 1, 1 << 34)  # hostile sizes and counts
HOSTILE_NAMES = ("", ".", "..", "../x.png", "/abs.png", "a\\b.png", "C:x.png", "a//b.png", "a/./b.png", "x\0.png",
                 "A.PNG", "a", "d.png/x", "x" * 5000)


def split(data: bytes) -> tuple[int, bytes]:
    """(length of everything before the payload, payload) of a valid file or archive."""
    payload = unpack_archive(data)[1] if is_archive(data) else unpack(data)[1]
    return len(data) - 4 - len(payload), payload


def _flip(rng: np.random.Generator, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
    return bytes(buf)


def _near(rng: np.random.Generator, v: int) -> int:
    return max(0, int(rng.choice([v - 1, v + 1, 2 * v, int(rng.integers(1, 64)), *BIG])))


def _model(rng: np.random.Generator) -> dict:
    model_id = int(rng.choice([EXTERNAL_MODEL_ID, int(rng.integers(0, 256))]))
    return dict(model_id=model_id, weights_tag=rng.bytes(tag_length(model_id)))


def _image_fields(rng: np.random.Generator, image, field: str) -> dict:
    """A change to one image field shared by files and archive entries (Header and Entry name them alike)."""
    if field == "size":
        return dict(width=image.height, height=image.width)
    if field in ("width", "height"):
        return {field: _near(rng, getattr(image, field))}
    if field == "mode":
        mode = str(rng.choice(MODES))
        palette = image.palette if image.palette is not None else rng.bytes(int(rng.integers(0, 12)))
        return dict(mode=mode, palette=palette if mode in ("P", "PA") else None)
    if field == "pixel_crc":
        return dict(pixel_crc=int(rng.integers(0, 1 << 32)))
    if field == "key":
        return dict(colour_key=None if image.colour_key is not None else
                    tuple(int(v) for v in rng.integers(0, 300, int(rng.integers(1, 5)))))
    return dict(alpha_constant=None if image.alpha_constant is not None else int(rng.integers(256)))


IMAGE_FIELDS = ("width", "height", "size", "mode", "pixel_crc", "alpha", "key")


def _file_field_change(rng: np.random.Generator, head: Header) -> Header:
    """The header with one field rewritten to a plausible or hostile value."""
    field = str(rng.choice(["budget", "precision", "model", "tag", "bits", "order", *IMAGE_FIELDS]))
    if field == "budget":
        return dataclasses.replace(head, budget=_near(rng, head.budget))
    if field == "precision":
        return dataclasses.replace(head, precision=int(rng.integers(0, 256)))
    if field == "model":
        return dataclasses.replace(head, **_model(rng))
    if field == "tag":
        return dataclasses.replace(head, weights_tag=rng.bytes(len(head.weights_tag)))
    if field == "bits":  # 8 <-> 16 bits per sample, in a mode that can have them
        bits = 24 - head.bits
        mode = head.mode if bits == 8 or head.mode in SIXTEEN_BIT_MODES else str(rng.choice(SIXTEEN_BIT_MODES))
        return dataclasses.replace(head, bits=bits, mode=mode, palette=None, version=version_for(bits, head.order_seed))
    if field == "order":  # another generation order, or the fixed one (seed 0, written unflagged)
        seed = int(rng.choice([0, min(_near(rng, head.order_seed), MAX_ORDER_SEED), int(rng.integers(1, MAX_ORDER_SEED + 1))]))
        return dataclasses.replace(head, order_seed=seed, version=version_for(head.bits, seed))
    head = dataclasses.replace(head, **_image_fields(rng, head, field))
    if head.bits == 16 and head.mode not in SIXTEEN_BIT_MODES:  # pack() writes no such file; format 1 is 8-bit
        head = dataclasses.replace(head, bits=8, version=version_for(8, head.order_seed))
    return head


def _archive_field_change(rng: np.random.Generator, head: ArchiveHeader) -> ArchiveHeader:
    """The archive header with one of its own fields, or one of an image's, rewritten."""
    field = str(rng.choice(["budget", "precision", "orders", "model", "count", "swap", "name", "latent",
                            *IMAGE_FIELDS]))
    entries = list(head.entries)
    i = int(rng.integers(len(entries)))
    if field in ("budget", "orders"):
        return dataclasses.replace(head, **{field: _near(rng, getattr(head, field))})
    if field == "precision":
        return dataclasses.replace(head, precision=int(rng.integers(0, 256)))
    if field == "model":
        return dataclasses.replace(head, **_model(rng))
    if field == "count":  # an image dropped, or one repeated under its own name or a new one
        if rng.integers(2):
            del entries[i]
        else:
            entries.insert(int(rng.integers(len(entries) + 1)),
                           dataclasses.replace(entries[i], name=str(rng.choice([entries[i].name, "new.png"]))))
    elif field == "swap":
        j = int(rng.integers(len(entries)))
        entries[i], entries[j] = entries[j], entries[i]
    elif field == "name":
        entries[i] = dataclasses.replace(entries[i], name=str(rng.choice([*HOSTILE_NAMES, entries[-1 - i].name])))
    elif field == "latent":
        entries[i] = dataclasses.replace(entries[i], order_latent=not entries[i].order_latent)
    else:
        entries[i] = dataclasses.replace(entries[i], **_image_fields(rng, entries[i], field))
    return dataclasses.replace(head, entries=tuple(entries))


def _header_field(rng: np.random.Generator, data: bytes) -> bytes:
    if is_archive(data):
        head, payload = unpack_archive(data)
        return pack_archive(_archive_field_change(rng, head), payload, checked=False)
    head, payload = unpack(data)
    return pack(_file_field_change(rng, head), payload)


def mutate(rng: np.random.Generator, data: bytes, other: bytes, kind: str) -> bytes:
    """`data` (a valid file) damaged one way; `other` is another valid file, for crosses and swaps."""
    if kind == "flip":
        return _flip(rng, data)
    if kind == "truncate":
        return data[:int(rng.integers(0, len(data)))]
    if kind == "extend":
        return data + rng.bytes(int(rng.integers(1, 65)))
    if kind == "splice":
        a = int(rng.integers(0, len(data) + 1))
        b = int(rng.integers(a, min(len(data), a + 32) + 1))
        return data[:a] + rng.bytes(int(rng.integers(0, 33))) + data[b:]
    if kind == "cross":
        return data[:int(rng.integers(0, len(data) + 1))] + other[int(rng.integers(0, len(other) + 1)):]
    if kind == "header-field":
        return _header_field(rng, data)
    header_len, payload = split(data)
    if kind == "header-bytes":
        buf = bytearray(data[:header_len])
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(0, header_len))] = int(rng.integers(0, 256))
        return with_crc(bytes(buf) + payload)
    if kind == "payload":
        words = len(payload) // 4
        choice = int(rng.integers(0, 5))
        if choice == 0 and payload:
            new = _flip(rng, payload)
        elif choice == 1:
            new = payload[:4 * int(rng.integers(0, words + 1))]
        elif choice == 2:
            new = payload + rng.bytes(4 * int(rng.integers(1, 9)))
        else:
            new = rng.bytes(4 * int(rng.integers(0, 2 * words + 3)))
        return with_crc(data[:header_len] + new)
    if kind == "payload-swap":
        return with_crc(data[:header_len] + split(other)[1])
    raise ValueError(f"unknown damage {kind!r}")
