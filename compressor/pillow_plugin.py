"""Pillow reads and writes .ardm files: ``Image.open("x.ardm")`` and ``im.save("x.ardm")``.

Registered when ``ardmzip`` is imported (Pillow has no entry-point discovery for plugins). Opening
reads only the header, so size and mode are known at once; the pixels are decoded in ``load()``,
since decoding takes seconds per small image and minutes per photo.

``Image.open`` passes no options to a plugin, so files written with a model file given by path are
decoded with the file named by ``use_model_file`` (a module-level setting). Decoding errors surface
from ``load()`` as ``OSError`` (its message is ardmzip's), as Pillow's own decoders raise them.
Size limits are Pillow's, not ardmzip's ``--max-pixels``: ``Image.open`` refuses a file whose header
claims more than twice ``Image.MAX_IMAGE_PIXELS`` (warning above it), and ``load()`` and ``save`` allow
what Pillow allows, so a Pillow user raises or lifts the limit as for any format. Network calls per
image, which no Pillow setting covers, are limited by the module-level ``MAX_CALLS`` (read at each
call, set like ``Image.MAX_IMAGE_PIXELS``; None lifts it), ardmzip's default unless changed.
Needs Pillow >= 10.1, the first release whose plugins set ``_mode`` (``Image.mode`` became read-only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from PIL import Image, ImageFile

from . import api
from . import header as fmt
from ._engine import DEFAULT_MAX_CALLS, MAX_PIXELS
from .errors import ArdmzipError

FORMAT = "ARDM"
EXTENSION = ".ardm"
MIME = "image/x-ardm"
_model_file: Path | None = None
MAX_CALLS: int | None = DEFAULT_MAX_CALLS


def use_model_file(path: str | os.PathLike | None) -> None:
    """The model file (.safetensors) that opened files written with a model file need; None forgets it.

    Used only for such files: files of registry models decode with their registry model as always.
    """
    global _model_file
    _model_file = Path(path) if path is not None else None


def pillow_max_pixels() -> int:
    """The most pixels Pillow lets ``Image.open`` through (``Image.MAX_IMAGE_PIXELS``, read at each call
    as users set it; None lifts it), within what the format can hold."""
    limit = Image.MAX_IMAGE_PIXELS
    return MAX_PIXELS if limit is None else min(2 * limit, MAX_PIXELS)


def _accept(prefix: bytes) -> bool:
    return prefix[:len(fmt.MAGIC)] == fmt.MAGIC


class ArdmImageFile(ImageFile.ImageFile):
    """A .ardm file; the whole file is read at open (its CRC covers every byte), decoded on load()."""

    format = FORMAT
    format_description = "ardmzip learned lossless image"

    def _open(self) -> None:
        self._data = self.fp.read()
        try:
            head = api.inspect(self._data)
        except ArdmzipError as e:
            raise SyntaxError(f"not a valid ardmzip file: {e}") from None
        if head.bits == 16 and head.mode == "RGB":
            raise SyntaxError("16-bit RGB cannot be held by Pillow: use ardmzip.decompress (a uint16 array)")
        self._size = (head.width, head.height)
        self._mode = "I;16" if head.bits == 16 else head.mode
        self.info["ardmzip_header"] = head
        if head.icc:
            self.info["icc_profile"] = head.icc
        self.tile = []

    def load(self) -> Image.core.PixelAccess | None:
        if self._data:  # not decoded yet: a flag of our own, as Pillow's private ``_im`` is not in every release
            head = self.info["ardmzip_header"]
            model = _model_file if head.model_id == fmt.EXTERNAL_MODEL_ID else None
            try:
                decoded = api.decompress(self._data, model=model, max_pixels=pillow_max_pixels(), max_calls=MAX_CALLS)
            except ArdmzipError as e:
                raise OSError(f"cannot decode ardmzip file: {e}") from e
            decoded.load()  # realizes the palette in the pixel storage taken below
            self.im = decoded.im
            self.palette = decoded.palette.copy() if decoded.palette is not None else None
            self.info.update(decoded.info)
            self._data = b""
            if self._exclusive_fp and self.fp is not None:
                self.fp.close()
            self.fp = None
        return Image.Image.load(self)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Save options: ``model`` (name or .safetensors path), ``budget`` (network calls per plane) and
    ``search`` (generation orders tried)."""
    opts = im.encoderinfo
    fp.write(api.compress(im, model=opts.get("model"), budget=opts.get("budget"), max_pixels=pillow_max_pixels(),
                          max_calls=MAX_CALLS, search=opts.get("search", 1)))


def register() -> None:
    Image.register_open(FORMAT, ArdmImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
