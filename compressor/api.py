"""The Python API: images in, .ardm bytes out, and back; the checks and coding steps are the engine's (_engine.py)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ardmzip.codecs.coding_model import FLOW
from ardmzip.codecs.quantize import DEFAULT_PRECISION

from . import _engine as engine
from . import header as fmt
from . import sixteen_bit
from ._engine import (DEFAULT_MAX_CALLS, DEFAULT_MAX_PIXELS, MAX_BUDGET, MAX_PIXELS, MAX_SEARCH,  # noqa: F401 (public)
                      Decoded, ImageLike, Progress, open_image)
from .errors import ArdmzipError
from .model_file import ModelSpec


def compress(image: ImageLike, model: ModelSpec = None, budget: int | None = None,
             precision: int = DEFAULT_PRECISION, threads: int | None = None,
             progress: Progress | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
             max_calls: int | None = DEFAULT_MAX_CALLS, search: int = 1) -> bytes:
    """Compress an image (path, Pillow image or uint8 array) to .ardm bytes.

    `model` is a registered name or a .safetensors model file (whose sha256 the file records);
    images above `max_pixels`, or whose budget takes more than `max_calls` network calls (None: no
    limit), are refused, as the decoder refuses them by default. `search`: generation orders to try,
    keeping the smallest file: `search` times the encoding time, decoding as fast (ARDMs; a flow has
    one pass, nothing to search).
    """
    return compress_measured(image, model, budget, precision, threads, progress, max_pixels, measure=False,
                             max_calls=max_calls, search=search).data


class Measured(NamedTuple):
    data: bytes  # the .ardm file, the same bytes compress() gives
    model_bits: float | None  # the model's ideal code length -log2 p(image), as model_bits() gives it
    calls: int  # the network calls encoding made: one order's times the orders searched (a flow: one per plane)


def compress_measured(image: ImageLike, model: ModelSpec = None, budget: int | None = None,
                      precision: int = DEFAULT_PRECISION, threads: int | None = None,
                      progress: Progress | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                      measure: bool = True, max_calls: int | None = DEFAULT_MAX_CALLS, search: int = 1) -> Measured:
    """compress(), and beside the bytes the model's ideal code length from the same network calls (in the
    order kept), so the coder's overhead can be reported without a second pass (measure=False: None)."""
    engine.check_precision(precision)
    engine.check_search(search)
    entry, net, parts, budget = engine.model_and_image(image, model, budget, max_pixels)
    bits = np.zeros(1) if measure else None
    with engine.torch_threads(threads):
        calls: list[int] = []
        data = engine.encode_parts(entry, net, [parts], budget, precision, progress, bits, max_calls, search, calls)[0]
    return Measured(data, None if bits is None else float(bits[0]), sum(calls))


def model_bits(image: ImageLike, model: ModelSpec = None, budget: int | None = None,
               threads: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_calls: int | None = DEFAULT_MAX_CALLS) -> float:
    """The model's ideal code length -log2 p(image) in bits at this budget (no header, no coder overhead)."""
    _, net, parts, budget = engine.model_and_image(image, model, budget, max_pixels)
    engine.check_calls(engine.image_calls(net, [p.shape for p in parts.planes], budget), max_calls)
    with engine.torch_threads(threads):
        return engine.ideal_bits(net, parts, budget)


class ModelInfo(NamedTuple):
    """What a model is, as model_info() tells it."""

    name: str
    number: int  # the model number its files record (0: a model file given by path)
    kind: str  # "autoregressive" (an ARDM: budget and search apply) or "flow" (one network pass)
    classes: int  # values a plane may hold: 256 for image models, fewer for a model of class maps
    default_budget: int  # network calls per plane when none is asked for (a flow's only budget)
    sha256: str  # of its weights file

    @property
    def one_pass(self) -> bool:
        """A flow: its files record default_budget whatever was asked, and search has no orders to try."""
        return self.kind == FLOW


def model_info(model: ModelSpec = None) -> ModelInfo:
    """A registered model (by name; None: the default) or a .safetensors model file, loaded and described."""
    entry, net, budget = engine.coding_model(model, None)
    return ModelInfo(entry.name, entry.model_id, net.kind, net.classes, budget, entry.sha256)


def inspect(data: bytes) -> fmt.Header:
    """The verified header of .ardm bytes."""
    return engine.checked_header(data)[0]


def decompress(data: bytes, threads: int | None = None, progress: Progress | None = None,
               model: ModelSpec = None, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_calls: int | None = DEFAULT_MAX_CALLS) -> Decoded:
    """Decode .ardm bytes to the exact original image; raises an ArdmzipError on any mismatch.

    16-bit greyscale comes back as an I;16 image, 16-bit RGB as a (H, W, 3) uint16 array.

    `model` is needed only for files written with a model file (the same file); images above
    `max_pixels` are refused from the header, before the model is loaded or anything allocated; files
    whose budget takes more than `max_calls` network calls (None: no limit), before the first call.
    """
    coded = engine.coded_file(data, model, max_pixels)
    with engine.torch_threads(threads):
        try:
            image = engine.decode_parts(coded.net, coded.shapes, [coded.head], [coded.coder], progress, max_calls)[0]
        except MemoryError:
            raise ArdmzipError(f"not enough memory to decode a {coded.head.width}x{coded.head.height} image") from None
    if isinstance(image, ArdmzipError):
        raise image
    return image


def compress_file(src: ImageLike, dst: str | os.PathLike, **kwargs) -> int:
    """Compress to a file, written atomically; returns the bytes written."""
    data = compress(src, **kwargs)
    atomic_write(dst, data)
    return len(data)


def decompress_file(src: str | os.PathLike, dst: str | os.PathLike, **kwargs) -> Decoded:
    """Decompress a .ardm file to a PNG file, written atomically."""
    im = decompress(Path(src).read_bytes(), **kwargs)
    atomic_write(dst, encode_png(im))
    return im


def encode_png(im: Decoded) -> bytes:
    """PNG bytes of a decoded image; PNG has no palette+alpha mode, so PA is written as RGBA."""
    if isinstance(im, np.ndarray):  # 16-bit RGB, which Pillow cannot write
        return sixteen_bit.encode_png(im)
    if im.mode == "PA":
        im = im.convert("RGBA")
        im.info.pop("transparency", None)  # the alpha channel carries it now
    buf = io.BytesIO()
    kwargs = {"icc_profile": im.info["icc_profile"]} if im.info.get("icc_profile") else {}
    if "transparency" in im.info:
        kwargs["transparency"] = im.info["transparency"]
    im.save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(dst: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside dst, then rename: readers never see a partial file."""
    tmp = temporary_copy(dst, data)
    try:
        os.replace(tmp, dst)
    except BaseException:
        remove_quietly(tmp)
        raise


def temporary_copy(dst: str | os.PathLike, data: bytes) -> Path:
    """A hidden temporary file beside dst holding data, synced to disk, for the caller to rename onto dst."""
    dst = Path(dst)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the permissions open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        remove_quietly(tmp)
        raise
    return Path(tmp)


def remove_quietly(path: str | os.PathLike) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
