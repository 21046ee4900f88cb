"""16-bit greyscale and RGB images: reading what Pillow cannot hold, planes for the coder, PNG out.

A 16-bit sample v is coded in two parts, v - offset = high << shift | low (``sample_range``: offset the
smallest sample, shift the fewest bits that leave 8 for high): high by the 8-bit model (as an ordinary
L or RGB plane), low by ``LowByteCodec`` given all of high. Greyscale travels as Pillow's
``I;16`` images; Pillow has no 16-bit RGB mode (it truncates such PNGs to 8 bits), so 16-bit RGB
is a (H, W, 3) uint16 array, read through imagecodecs and written by the small PNG writer below.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image

from .errors import CorruptFileError, UnsupportedImageError

GREY_MODES = ("I;16", "I;16L", "I;16B")  # Pillow's 16-bit greyscale modes (same values, other byte orders)
Sixteen = Union[Image.Image, np.ndarray]  # an I;16 image, or a (H, W, 3) uint16 array


def is_sixteen(image) -> bool:
    return (isinstance(image, np.ndarray) and image.dtype == np.uint16) or \
        (isinstance(image, Image.Image) and image.mode in GREY_MODES)


def samples(image: Sixteen) -> np.ndarray:
    """(H, W, C) uint16 samples, C = 1 (grey) or 3 (RGB); other shapes are refused."""
    a = np.asarray(image).astype(np.uint16)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise UnsupportedImageError(f"16-bit array shape {a.shape} is not (H, W), (H, W, 1) or (H, W, 3) "
                                    "(16-bit images with alpha are not supported)")
    return a


def split(a: np.ndarray, offset: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """High parts (coded by the 8-bit model) and low parts, both (H, W, C) uint8."""
    v = a.astype(np.int64) - offset
    return (v >> shift).astype(np.uint8), (v & ((1 << shift) - 1)).astype(np.uint8)


def join(high: np.ndarray, low: np.ndarray, offset: int, shift: int, icc: bytes | None) -> Sixteen:
    v = (high.astype(np.int64) << shift | low) + offset
    if v.size and v.max() > 0xFFFF:  # no encoder writes this; a forged file could
        raise CorruptFileError("file is corrupted (16-bit samples out of range)")
    a = v.astype(np.uint16)
    if a.shape[2] == 3:
        return a
    im = Image.frombytes("I;16", (a.shape[1], a.shape[0]), a[..., 0].astype("<u2").tobytes())
    if icc:
        im.info["icc_profile"] = icc
    return im


def read_rgb(source: Union[str, Path, IO[bytes]], name: str) -> np.ndarray:
    """The true 16-bit samples of a 16-bit RGB file that Pillow opened as 8-bit RGB."""
    try:
        import imagecodecs
    except ImportError:
        raise UnsupportedImageError(f"{name}: 16-bit RGB needs the imagecodecs package (pip install imagecodecs): "
                                    "Pillow reads only 8 bits of it") from None
    if isinstance(source, (str, Path)):
        raw = Path(source).read_bytes()
    else:
        source.seek(0)
        raw = source.read()
    try:
        a = imagecodecs.imread(raw)
    except Exception as e:  # imagecodecs raises its own error types per codec
        raise UnsupportedImageError(f"{name}: cannot read 16-bit image ({e})") from None
    if a.dtype != np.uint16 or a.ndim != 3 or a.shape[2] != 3:
        raise UnsupportedImageError(f"{name}: 16-bit image of shape {a.shape} and type {a.dtype} is not supported "
                                    "(16-bit greyscale and RGB are; not with alpha)")
    return a


def encode_png(a: np.ndarray) -> bytes:
    """A 16-bit RGB PNG of a (H, W, 3) uint16 array (Pillow cannot write one); no ICC profile, as
    16-bit RGB travels as an array, which carries none."""
    height, width, _ = a.shape
    rows = a.astype(">u2").reshape(height, width * 3).view(np.uint8)  # big-endian samples, as PNG stores them
    scanlines = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter type 0 per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()
