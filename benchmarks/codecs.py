"""The codecs under test: each encodes a uint8 image to bytes and decodes it back.

Classical codecs come from Pillow and imagecodecs (an optional dependency, ``ardmzip[bench]``,
imported only when such a codec is built so that the ``ardmzip`` command works without it).
"""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import PIL
from PIL import Image, features

import ardmzip

CLASSICAL = ("png", "webp", "jpegxl-e7", "jpegxl-e9", "jpeg2000", "jpegls")
GROUPS = {"classical": CLASSICAL, "ardmzip": ("ardmzip",)}


@dataclass(frozen=True)
class Codec:
    """A lossless codec as the benchmark sees it; `library` (with versions) is recorded in every row."""

    name: str
    library: str
    encode: Callable[[np.ndarray], tuple[bytes, int | None]]  # (file bytes, network calls or None)
    decode: Callable[[bytes, int], np.ndarray]  # (file bytes, the input's channels: 1 for grey), as a viewer knows them
    budget: int | None = None
    # a model's encode that also gives its ideal code length in bits, from the same network calls
    encode_measured: Callable[[np.ndarray], tuple[bytes, int | None, float | None]] | None = None


def _pillow(fmt: str, **params) -> tuple[Callable[[np.ndarray], tuple[bytes, None]], Callable[[bytes], np.ndarray]]:
    def encode(a: np.ndarray) -> tuple[bytes, None]:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format=fmt, **params)
        return buf.getvalue(), None

    return encode, lambda data: np.asarray(Image.open(io.BytesIO(data)))


def _as_channels(back: np.ndarray, channels: int) -> np.ndarray:
    """WebP has no grey mode and drops an alpha that is opaque everywhere: give such an image back in the input's
    layout, but only where no value is lost (equal channels for grey), so a decoder that changed a value still fails."""
    if channels == 1 and back.ndim == 3 and (back == back[..., :1]).all():
        return np.ascontiguousarray(back[..., 0])
    if channels == 4 and back.ndim == 3 and back.shape[2] == 3:
        return np.dstack([back, np.full(back.shape[:2], 255, dtype=back.dtype)])
    return back


def _imagecodecs():
    try:
        return importlib.import_module("imagecodecs")
    except ImportError:
        raise ModuleNotFoundError("JPEG-XL, JPEG 2000 and JPEG-LS need imagecodecs: "
                                  "pip install 'ardmzip[bench]'") from None


def classical(name: str) -> Codec:
    """One of CLASSICAL, with the settings of shared/docs/BASELINES.md."""
    if name == "png":
        enc, dec = _pillow("PNG", optimize=True, compress_level=9)
        return Codec(name, f"Pillow {PIL.__version__}, zlib {features.version('zlib')}", enc, lambda d, _: dec(d))
    if name == "webp":
        enc, dec = _pillow("WEBP", lossless=True, quality=100, method=6, exact=True)
        return Codec(name, f"Pillow {PIL.__version__}, libwebp {features.version('webp')}", enc,
                     lambda d, channels: _as_channels(dec(d), channels))
    ic = _imagecodecs()
    if name.startswith("jpegxl-e"):
        effort = int(name.removeprefix("jpegxl-e"))
        return Codec(name, f"imagecodecs {ic.__version__}, {ic.jpegxl_version()}",
                     lambda a: (ic.jpegxl_encode(a, lossless=True, effort=effort, numthreads=1), None),
                     lambda d, _: ic.jpegxl_decode(d, numthreads=1))
    if name == "jpeg2000":
        return Codec(name, f"imagecodecs {ic.__version__}, {ic.jpeg2k_version()}",
                     lambda a: (ic.jpeg2k_encode(a, codecformat="J2K", reversible=True), None),
                     lambda d, _: ic.jpeg2k_decode(d))
    if name == "jpegls":
        return Codec(name, f"imagecodecs {ic.__version__}, {ic.jpegls_version()}",
                     lambda a: (ic.jpegls_encode(a, level=0), None), lambda d, _: ic.jpegls_decode(d))
    raise ValueError(f"unknown codec '{name}' (known: {', '.join(CLASSICAL)})")


def image_models() -> tuple[str, ...]:
    """The registered models for 8-bit images, the default of the image benchmarks: a model for class maps
    (fewer than 256 classes, such as ddf-rgb8) is benchmarked on its maps, by name."""
    return tuple(name for name in ardmzip.REGISTRY.entries if ardmzip.model_info(name).classes == 256)


def learned(model: str, budget: int, threads: int, search: int = 1, info: ardmzip.ModelInfo | None = None) -> Codec:
    """An ardmzip model at one budget, through the public API; counts the network calls it makes (encoding
    with a search of N orders makes N times one order's calls, decoding one order's).

    `model` is a registered name or a .safetensors model file (named by its stem, tagged by its sha256).
    No cap on network calls: the cap guards a decoder against forged files, and a benchmark codes its own
    images at whatever budget it is asked for (an upscaling model's full budget is 4 calls per dimension)."""
    path = Path(model) if model.endswith(".safetensors") else None
    tag = (info or ardmzip.model_info(path or model)).sha256[:8]  # info: the caller's, if it has it
    label = path.stem if path else model

    def encode_measured(a: np.ndarray, measure: bool = True) -> tuple[bytes, int, float | None]:
        out = ardmzip.compress_measured(a, model=model, budget=budget, threads=threads, measure=measure,
                                        search=search, max_calls=None)
        return out.data, out.calls, out.model_bits

    def decode(data: bytes, _channels: int) -> np.ndarray:
        return np.asarray(ardmzip.decompress(data, threads=threads, model=path, max_calls=None))

    name = f"ardmzip-{label}-b{budget}{f'-s{search}' if search > 1 else ''}"
    return Codec(name, f"ardmzip {ardmzip.__version__}, weights {tag}", lambda a: encode_measured(a, measure=False)[:2],
                 decode, budget, encode_measured)
