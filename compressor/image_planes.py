"""Pillow images <-> the integer planes the model codes, plus what restores the exact image.

Colour goes to the model as one (H, W, 3) array; grey, palette indices and alpha as (H, W, 1)
planes. A uniform alpha plane is stored as its value instead of being coded.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ardmzip.codecs.low_bytes import sample_range

from . import sixteen_bit
from .errors import CorruptFileError, UnsupportedImageError

MODE_CHANNELS = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2, "P": 1, "PA": 2, "1": 1}  # dimensions per pixel
MODES = tuple(MODE_CHANNELS)  # the order is part of the file format (header mode numbers)
ALPHA_MODES = {"RGBA": "RGB", "LA": "L", "PA": "P"}
_PALETTE_MODES = ("RGB", "RGBA")
KEY_MODES = ("RGB", "L", "1")  # modes whose transparency is one colour (PNG tRNS)
MAX_KEY = 0xFFFF  # tRNS holds 16-bit samples; Pillow cannot write a larger one


@dataclass
class ImageParts:
    mode: str
    width: int
    height: int
    planes: list[np.ndarray]  # uint8 arrays to code, (H, W, 3) or (H, W, 1)
    alpha_constant: int | None = None  # set when the image has a uniform alpha channel
    palette: bytes | None = None  # serialized palette (modes P, PA)
    icc: bytes | None = None
    colour_key: tuple[int, ...] | None = None  # the transparent colour of RGB, L and 1 images (PNG tRNS)
    bits: int = 8  # per sample; with 16, sample - offset = planes[0] << shift | low
    low: np.ndarray | None = None
    offset: int = 0
    shift: int = 8

    @property
    def has_alpha(self) -> bool:
        return self.mode in ALPHA_MODES

    def pixel_checksum(self) -> int:
        """CRC-32 of everything that defines the pixels; the decoder must reproduce it."""
        crc = zlib.crc32(self.palette or b"")
        if self.bits == 16:
            crc = zlib.crc32(struct.pack("<HB", self.offset, self.shift), crc)
        if self.alpha_constant is not None:
            crc = zlib.crc32(bytes([self.alpha_constant]), crc)
        for plane in self.planes + ([self.low] if self.low is not None else []):
            crc = zlib.crc32(np.ascontiguousarray(plane, dtype=np.uint8).tobytes(), crc)
        return crc


def split_image(im: Image.Image | np.ndarray) -> ImageParts:
    """A Pillow image, or a uint16 array for 16-bit RGB (which Pillow cannot hold)."""
    if sixteen_bit.is_sixteen(im):
        a = sixteen_bit.samples(im)
        offset, shift = sample_range(a)
        high, low = sixteen_bit.split(a, offset, shift)
        info = {} if isinstance(im, np.ndarray) else im.info
        if info.get("transparency") is not None:
            raise UnsupportedImageError("16-bit images with a transparent colour are not supported")
        icc = info.get("icc_profile") or None
        return ImageParts("RGB" if a.shape[2] == 3 else "L", a.shape[1], a.shape[0], [high], icc=icc, bits=16,
                          low=low, offset=offset, shift=shift)
    if im.mode not in MODES:
        raise UnsupportedImageError(f"image mode {im.mode} is not supported (supported: {', '.join(MODES)})")
    w, h = im.size
    if w < 1 or h < 1:
        raise UnsupportedImageError("image has no pixels")
    arr = np.asarray(im)
    icc = im.info.get("icc_profile") or None
    key = _colour_key(im)
    if im.mode == "1":
        return ImageParts("1", w, h, [arr.astype(np.uint8)[..., None] * 255], icc=icc, colour_key=key)
    if arr.ndim == 2:
        arr = arr[..., None]
    base = ALPHA_MODES.get(im.mode, im.mode)
    colour = arr[..., :3] if base == "RGB" else arr[..., :1]
    parts = ImageParts(im.mode, w, h, [np.ascontiguousarray(colour)], icc=icc, colour_key=key)
    if base == "P":
        parts.palette = _pack_palette(im)
    if parts.has_alpha:
        alpha = np.ascontiguousarray(arr[..., -1:])
        if (alpha == alpha.flat[0]).all():
            parts.alpha_constant = int(alpha.flat[0])
        else:
            parts.planes.append(alpha)
    return parts


def join_image(parts: ImageParts) -> Image.Image | np.ndarray:
    """The image; 16-bit RGB as a (H, W, 3) uint16 array."""
    if parts.bits == 16:
        return sixteen_bit.join(parts.planes[0], parts.low, parts.offset, parts.shift, parts.icc)
    size = (parts.width, parts.height)
    main = parts.planes[0].astype(np.uint8)
    if parts.mode == "1":
        if not np.isin(main, (0, 255)).all():  # split_image writes only these; converting would threshold others
            raise CorruptFileError("file is corrupted (a 1-bit image with grey values)")
        im = Image.frombytes("L", size, main.tobytes()).convert("1", dither=Image.Dither.NONE)
    else:
        channels = [main]
        if parts.has_alpha:
            if parts.alpha_constant is not None:
                channels.append(np.full(main.shape[:2] + (1,), parts.alpha_constant, dtype=np.uint8))
            else:
                channels.append(parts.planes[1].astype(np.uint8))
        data = np.ascontiguousarray(np.concatenate(channels, axis=2))
        im = Image.frombytes(parts.mode, size, data.tobytes())
        if parts.palette is not None:
            _unpack_palette(im, parts.palette)
    if parts.icc:
        im.info["icc_profile"] = parts.icc
    if parts.colour_key is not None:
        im.info["transparency"] = parts.colour_key if parts.mode == "RGB" else parts.colour_key[0]
    return im


def _colour_key(im: Image.Image) -> tuple[int, ...] | None:
    """The transparent colour of an RGB, L or 1 image, as one integer per channel."""
    trns = im.info.get("transparency")
    if im.mode not in KEY_MODES or trns is None or isinstance(trns, bytes):
        return None
    key = tuple(int(v) for v in (trns if isinstance(trns, tuple) else (trns,)))
    if len(key) != MODE_CHANNELS[im.mode] or min(key) < 0 or max(key) > MAX_KEY:
        raise UnsupportedImageError(f"transparency {trns!r} does not fit mode {im.mode}")
    return key


def plane_shapes(mode: str, width: int, height: int, alpha_coded: bool) -> list[tuple[int, int, int]]:
    """The shapes of the coded planes, derived from the header alone."""
    base = ALPHA_MODES.get(mode, mode)
    shapes = [(height, width, 3 if base == "RGB" else 1)]
    if mode in ALPHA_MODES and alpha_coded:
        shapes.append((height, width, 1))
    return shapes


def _pack_palette(im: Image.Image) -> bytes:
    pal_mode = im.palette.mode if im.palette is not None else "RGB"
    if pal_mode not in _PALETTE_MODES:
        raise UnsupportedImageError(f"palette mode {pal_mode} is not supported")
    entries = bytes(im.getpalette(rawmode=pal_mode) or [])
    out = struct.pack("<BH", _PALETTE_MODES.index(pal_mode), len(entries)) + entries
    trns = im.info.get("transparency")
    if isinstance(trns, int):
        out += struct.pack("<BH", 1, trns)
    elif isinstance(trns, bytes):
        out += struct.pack("<BH", 2, len(trns)) + trns
    else:
        out += b"\x00"
    return out


PALETTE_ENTRIES = 256  # the most a palette has (Pillow refuses more, PNG and GIF hold no more)
_TRANSPARENCY_KINDS = ("none", "index", "alphas")  # what follows the entries: nothing, one index, alpha bytes


@dataclass(frozen=True)
class Palette:
    mode: str  # of the entries: "RGB" or "RGBA"
    entries: bytes
    transparency: int | bytes | None


def read_palette(blob: bytes) -> Palette:
    """The palette data `_pack_palette` writes, refusing any other: checked when the header is read
    (header.read_image_fields), so that a forged palette is refused before the decoding work and not
    by Pillow afterwards, nor silently dropped."""
    pos = 0

    def take(k: int) -> bytes:
        nonlocal pos
        if pos + k > len(blob):
            raise CorruptFileError("file is corrupted (palette data ends early)")
        pos += k
        return blob[pos - k:pos]

    pal_mode, n = struct.unpack("<BH", take(3))
    if pal_mode >= len(_PALETTE_MODES):
        raise CorruptFileError(f"file is corrupted (unknown palette mode {pal_mode})")
    mode = _PALETTE_MODES[pal_mode]
    if n % len(mode) or n // len(mode) > PALETTE_ENTRIES:
        raise CorruptFileError(f"file is corrupted (a palette of {n} bytes, not {mode} entries, at most "
                               f"{PALETTE_ENTRIES})")
    entries, kind = take(n), take(1)[0]
    if kind >= len(_TRANSPARENCY_KINDS):
        raise CorruptFileError(f"file is corrupted (unknown palette transparency kind {kind})")
    transparency: int | bytes | None = None
    if _TRANSPARENCY_KINDS[kind] != "none":
        (value,) = struct.unpack("<H", take(2))
        transparency = value if _TRANSPARENCY_KINDS[kind] == "index" else take(value)
    if pos != len(blob):
        raise CorruptFileError("file is corrupted (bytes left over after the palette data)")
    return Palette(mode, entries, transparency)


def _unpack_palette(im: Image.Image, blob: bytes) -> None:
    palette = read_palette(blob)
    im.putpalette(palette.entries, rawmode=palette.mode)
    if palette.transparency is not None:
        im.info["transparency"] = palette.transparency
