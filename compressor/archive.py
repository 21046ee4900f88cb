"""Dataset mode: many images coded into one rANS stack, later ones bits-back with their order as latent.

Bits-back needs bits already on the stack. An archive starts empty, so its first images are coded
as single images are (the model's fixed order, no bits borrowed); once the stack holds what one
image's pop takes (K * log2(D!) bits for K random orders of D dimensions, K * 16 for a model of
dispersed orders, whose latent is a variant number; `OrderLatentCodec.bits_needed`),
images are coded bits-back. Those first images are the initial bits: they cost what single-image
coding costs, forgoing only the bits-back gain, instead of log2(D!) random bits per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from ardmzip.codecs.ans import AnsCoder, Serial, to_bytes
from ardmzip.codecs.coding_model import AnyModel
from ardmzip.codecs.order_latent import OrderLatentCodec
from ardmzip.codecs.quantize import DEFAULT_PRECISION

from . import _engine as engine
from . import model_file
from ._engine import DEFAULT_MAX_CALLS, DEFAULT_MAX_PIXELS, ImageLike, Progress
from .archive_format import ArchiveHeader, Entry, check_names, pack_archive, unpack_archive
from .errors import ArdmzipError, CorruptFileError, FormatError, LimitError, UnsupportedImageError
from .image_planes import ImageParts, join_image, plane_shapes
from .model_file import ModelSpec

DEFAULT_ORDERS = 4  # smaller archives than K = 0 at a few times the time: chosen by measurement (docs/dataset-mode.md)
MAX_ORDERS = 64  # decoding weighs every order with a full pass, so a file may not ask for unboundedly many
DEFAULT_MAX_TOTAL_PIXELS = 1 << 28  # decoding holds every image: at most about 1 GB of pixels by default


@dataclass(frozen=True)
class ImageCost:
    """What one image added to the stack: bits-back images add their net cost, -log2 mean_k p(x|order_k)."""

    name: str
    dims: int
    stack_bits: int
    order_latent: bool


@dataclass(frozen=True)
class EncodedArchive:
    data: bytes
    costs: tuple[ImageCost, ...]
    payload_bytes: int  # the rANS stack; the rest of `data` is header, names and checksums


def _plane_codecs(net: AnyModel, shapes, budget: int, precision: int, orders: int, order_latent: bool) -> Serial:
    if order_latent:
        return Serial([OrderLatentCodec(net, s, budget, orders, precision) for s in shapes])
    return engine.image_codec(net, shapes, budget, precision)


def _image_calls(net: AnyModel, shapes, budget: int, orders: int, latent: bool) -> int:
    """Network calls that code an image; coded bits-back with K > 1 orders, it first weighs each by a pass."""
    return sum(c.calls for c in _plane_codecs(net, shapes, budget, DEFAULT_PRECISION, orders, latent).codecs)


def _bits_back_possible(net: AnyModel, shapes, orders: int) -> bool:
    """An ARDM's order can be a latent (a discrete flow has none), if the uniform coder reaches its size."""
    return orders > 0 and engine.has_orders(net) and all(OrderLatentCodec(net, s, 1).possible for s in shapes)


def check_total(pixels: int, max_total_pixels: int) -> None:
    """Refuse an archive of more pixels in all than the limit: its images claim at most max_pixels each,
    but a file of a few bytes per image could otherwise claim thousands of them, all held in memory."""
    if pixels > max_total_pixels:
        raise LimitError(f"archive of {pixels:,} pixels in all exceeds the limit of {max_total_pixels:,} "
                         f"(raise it with max_total_pixels / --max-archive-pixels)")


def _bits_needed(net: AnyModel, shapes, budget: int, precision: int, orders: int) -> float:
    return sum(OrderLatentCodec(net, s, budget, orders, precision).bits_needed for s in shapes)


def encode_archive(images: Sequence[tuple[str, ImageLike]], model: ModelSpec = None, budget: int | None = None,
                   orders: int = DEFAULT_ORDERS, precision: int = DEFAULT_PRECISION, threads: int | None = None,
                   progress: Progress | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                   max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS,
                   max_calls: int = DEFAULT_MAX_CALLS) -> EncodedArchive:
    """Code (name, image) pairs into one archive, with what each image added to the stack.

    orders: generation orders weighed per bits-back image (1: one random order; 0: no bits-back).
    The limits are the decoder's defaults, so an archive written with the defaults decodes with them."""
    engine.check_precision(precision)
    engine.check_range(orders, 0, MAX_ORDERS, "orders")
    if not images:
        raise ArdmzipError("an archive needs at least one image")
    check_names(name for name, _ in images)
    entry, net, budget = engine.coding_model(model, budget)  # once: a model file is hashed, then probed when loaded
    coder = AnsCoder()
    entries, costs = [], []
    with engine.torch_threads(threads):
        for i, (name, image) in enumerate(images):
            try:
                parts = engine.image_parts(image, max_pixels, name)
                engine.check_fits(net, entry, [p.shape for p in parts.planes], parts.planes)
            except ArdmzipError as e:  # most messages already start with the name; the rest get it
                raise e if str(e).startswith(f"{name}: ") else type(e)(f"{name}: {e}") from None
            if parts.low is not None:
                raise UnsupportedImageError(f"{name}: 16-bit images cannot go into an archive yet")
            check_total(sum(e.width * e.height for e in entries) + parts.width * parts.height, max_total_pixels)
            shapes = [p.shape for p in parts.planes]
            bits_back_calls = _image_calls(net, shapes, budget, orders, True) if _bits_back_possible(
                net, shapes, orders) else None
            latent = (bits_back_calls is not None and bits_back_calls <= max_calls  # else the fixed order
                      and coder.num_valid_bits() >= _bits_needed(net, shapes, budget, precision, orders))
            engine.check_calls(bits_back_calls if latent else engine.image_calls(net, shapes, budget), max_calls, name)
            before = coder.num_valid_bits()
            _plane_codecs(net, shapes, budget, precision, orders, latent).push(
                coder, [p.astype(np.int64) for p in parts.planes])
            entries.append(Entry(name, parts.mode, parts.width, parts.height, parts.pixel_checksum(), latent,
                                 parts.alpha_constant, parts.palette, parts.icc, parts.colour_key))
            costs.append(ImageCost(name, entries[-1].dims, coder.num_valid_bits() - before, latent))
            if progress:
                progress(i + 1, len(images))
    head = ArchiveHeader(entry.model_id, model_file.tag(entry), precision, budget, orders, tuple(entries))
    payload = to_bytes(coder)
    return EncodedArchive(pack_archive(head, payload), tuple(costs), len(payload))


def compress_archive(images: Sequence[tuple[str, ImageLike]], **kwargs) -> bytes:
    """Archive bytes for (name, image) pairs; keyword arguments as for `encode_archive`."""
    return encode_archive(images, **kwargs).data


def inspect_archive(data: bytes) -> ArchiveHeader:
    """The verified header of archive bytes."""
    return _checked(data)[0]


def _checked(data: bytes) -> tuple[ArchiveHeader, bytes]:
    head, payload = unpack_archive(data)
    engine.check_stream(head.precision, head.budget, [(e.name, e.width, e.height) for e in head.entries], payload,
                        "archive")
    if head.orders > MAX_ORDERS:
        raise FormatError(f"archive weighs {head.orders} orders per image; at most {MAX_ORDERS} are supported")
    if any(e.order_latent for e in head.entries) and head.orders < 1:
        raise CorruptFileError("archive is corrupted (an image coded bits-back with no orders)")
    return head, payload


def decompress_archive(data: bytes, threads: int | None = None, progress: Progress | None = None,
                       model: ModelSpec = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                       max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS,
                       max_calls: int = DEFAULT_MAX_CALLS) -> list[tuple[str, Image.Image]]:
    """Every (name, image) of an archive, in the order they were given; raises an ArdmzipError on any mismatch.

    Images above `max_pixels`, and archives above `max_total_pixels` in all, are refused from the
    header, before the model is loaded; an image of more than `max_calls` network calls, before any is
    decoded. Every decoded image is held in memory until the last is checked
    (the stack gives them back last first), so memory grows with the archive's total pixels."""
    head, payload = _checked(data)
    for e in head.entries:
        engine.check_size(e.width, e.height, max_pixels, e.name)
    check_total(sum(e.width * e.height for e in head.entries), max_total_pixels)
    entry, net = engine.decoding_model(head.model_id, head.weights_tag, model)
    engine.coded_budget(net, head.budget, head.budget, error=FormatError)
    all_shapes = []
    for e in head.entries:
        shapes = plane_shapes(e.mode, e.width, e.height, alpha_coded=e.alpha_constant is None)
        engine.check_fits(net, entry, shapes, error=CorruptFileError)
        if e.order_latent and not _bits_back_possible(net, shapes, head.orders):
            raise CorruptFileError(f"archive is corrupted ({e.name} cannot have been coded bits-back)")
        engine.check_calls(_image_calls(net, shapes, head.budget, head.orders, e.order_latent), max_calls, e.name)
        all_shapes.append(shapes)
    coder = engine.payload_coder(payload, "archive")
    out = []
    with engine.torch_threads(threads):
        # a stack: the last image pushed comes off first
        for done, (e, shapes) in enumerate(zip(reversed(head.entries), reversed(all_shapes)), 1):
            try:
                planes = _plane_codecs(net, shapes, head.budget, head.precision, head.orders, e.order_latent).pop(coder)
            except MemoryError:
                raise ArdmzipError(f"{e.name}: not enough memory to decode a {e.width}x{e.height} image") from None
            parts = ImageParts(e.mode, e.width, e.height, [p.astype(np.uint8) for p in planes], e.alpha_constant,
                               e.palette, e.icc, e.colour_key)
            if parts.pixel_checksum() != e.pixel_crc:
                raise CorruptFileError(f"{e.name}: decoded pixels do not match the archive's checksum")
            out.append((e.name, join_image(parts)))
            if progress:
                progress(done, len(head.entries))
    if not coder.is_empty():
        raise CorruptFileError("archive is corrupted (coded data left over after the last image)")
    return out[::-1]
