"""The engine under the public API: the limits, every check once, and the steps that code images and files.

The public modules (api.py, archive.py, batches.py, pillow_plugin.py) and the fuzzer code through here,
so a rule is written in one place: the ranges of budget, precision and search; the fields a coded
stream may record (a single file's header and an archive's); that a discrete flow makes one pass
(its files record FLOW_BUDGET and no generation order, so it has no orders to search or to code
bits-back); that a model codes an image's planes; and the limits on pixels and network calls.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ardmzip.codecs.ans import AnsCoder, Serial, from_bytes, to_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.coding_model import AnyModel, CodingModel, is_flow
from ardmzip.codecs.flow import FLOW_BUDGET, FlowCodec
from ardmzip.codecs.low_bytes import LowByteCodec, pop_range, push_range
from ardmzip.codecs.quantize import DEFAULT_PRECISION, MAX_PRECISION, MIN_PRECISION

from . import header as fmt
from . import model_file, sixteen_bit
from .archive_format import is_archive
from .errors import ArdmzipError, CorruptFileError, FormatError, LimitError, UnsupportedImageError
from .image_planes import ImageParts, join_image, plane_shapes, split_image
from .model_file import ModelSpec
from .registry import REGISTRY, ModelEntry

ImageLike = Union[Image.Image, np.ndarray, str, os.PathLike]
Decoded = Union[Image.Image, np.ndarray]  # 16-bit RGB decodes to a uint16 array: Pillow cannot hold it
Progress = Callable[[int, int], None]  # (done, total): steps of one image (image_codec); images for an archive
MAX_PIXELS = 1 << 28  # the format's range: larger sizes are refused as corrupt, whatever the limit
DEFAULT_MAX_PIXELS = 1 << 24  # 16.8 MP: a 12 MP photo passes; memory grows with pixels (README)
MAX_BUDGET = 1 << 20
DEFAULT_MAX_CALLS = 4096  # network calls per image: the full budget of a 32x32 RGB image (3,072) passes
MAX_SEARCH = 256  # generation orders compress may try per image


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with n torch threads; results do not depend on it (exact inference), only speed does."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ranges: of a caller's option (ArdmzipError) or of a file's field (FormatError)

def check_range(value: int, low: int, high: int, option: str, field: str | None = None) -> None:
    """Refuse a value outside [low, high]: `option` names it as a caller's argument, `field` (if given) as a
    field a file records."""
    if low <= value <= high:
        return
    if field:
        raise FormatError(f"unsupported {field} {value}")
    raise ArdmzipError(f"{option} must be between {low} and {high}, got {value}")


def check_budget(budget: int, recorded: bool = False) -> None:
    check_range(budget, 1, MAX_BUDGET, "budget", "budget" if recorded else None)


def check_precision(precision: int, recorded: bool = False) -> None:
    check_range(precision, MIN_PRECISION, MAX_PRECISION, "precision", "coder precision" if recorded else None)


def check_search(search: int) -> None:
    check_range(search, 1, MAX_SEARCH, "search")


def check_stream(precision: int, budget: int, sizes: Iterable[tuple[str | None, int, int]], payload: bytes,
                 what: str = "file") -> None:
    """The fields every coded stream records (a single image's header, an archive's), refused outside what
    this version codes: precision, budget, each image's (name, width, height), a payload of whole words."""
    check_precision(precision, recorded=True)
    check_budget(budget, recorded=True)
    for name, width, height in sizes:
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise FormatError(f"{name + ': ' if name else ''}image size {width}x{height} is outside the supported range")
    if len(payload) % 4:
        raise CorruptFileError(f"{what} is corrupted (payload is not whole 32-bit words)")


# limits: what a caller lets an image cost

def check_size(width: int, height: int, max_pixels: int, name: str | None = None) -> None:
    """Refuse an image above the pixel limit, from its size alone, before anything is allocated for it.

    A limit is the only sound guard against decompression bombs here: an image whose coded values are
    all zero has an empty payload at any size (symbol 0 pushed onto the empty rANS coder leaves it
    empty), so no payload is too short for the size its header claims.
    """
    if width * height > max_pixels:
        raise LimitError(f"{name + ': ' if name else ''}image of {width}x{height} pixels ({width * height:,}) "
                         f"exceeds the limit of {max_pixels:,} pixels (raise it with max_pixels / --max-pixels)")


def check_calls(calls: int, max_calls: int | None, name: str | None = None) -> None:
    """Refuse to code an image with more network calls than the limit. Time grows with pixels x calls
    and a file's budget sets the calls, so without it a forged header could keep a decoder busy for
    days; compressing checks the same default, so what compress writes by default decodes by default.
    None: no limit."""
    if max_calls is not None and calls > max_calls:
        raise LimitError(f"{name + ': ' if name else ''}coding this image takes {calls:,} network calls, above the "
                         f"limit of {max_calls:,} (raise it with max_calls / --max-calls)")


# the model: which one, at which budget, on which planes

def has_orders(model: CodingModel) -> bool:
    """An ARDM codes in generation orders (compress's search, an archive's bits-back latent); a flow's one
    pass has none."""
    return not is_flow(model)


def coded_budget(model: CodingModel, requested: int | None, resolved: int, order_seed: int = 0,
                 error: type[ArdmzipError] = ArdmzipError) -> int:
    """The budget a model codes at: an ARDM's is `resolved`; a discrete flow makes one network pass, so its
    files record FLOW_BUDGET and no generation order, and a request (or a file) of another is an `error`."""
    if has_orders(model):
        return resolved
    if requested not in (None, FLOW_BUDGET):
        raise error(f"a discrete flow makes one network pass: budget must be {FLOW_BUDGET}, got {requested}")
    if order_seed:
        raise error("a discrete flow has no generation order, but the file names one")
    return FLOW_BUDGET


def resolve_model(model: ModelSpec, budget: int | None) -> tuple[ModelEntry, int]:
    """The model's entry (a model file is hashed now) and the budget asked for, or its default, in range."""
    entry = model_file.resolve(model)
    budget = entry.default_budget if budget is None else int(budget)
    check_budget(budget)
    return entry, budget


def coding_model(model: ModelSpec, budget: int | None) -> tuple[ModelEntry, AnyModel, int]:
    """The model to code with, loaded, and the budget it codes at: everything that encodes starts here."""
    entry, resolved = resolve_model(model, budget)
    net = model_file.load(entry)
    return entry, net, coded_budget(net, budget, resolved)


def check_fits(net: CodingModel, entry: ModelEntry, shapes, planes=None,
               error: type[ArdmzipError] = UnsupportedImageError) -> None:
    """Refuse planes the model cannot code, in one line: a flow for class maps takes only maps of its
    classes (its ``refusal(shape, values)`` says why not); every other model takes any plane."""
    for i, shape in enumerate(shapes):
        why = net.refusal(tuple(shape), None if planes is None else planes[i])
        if why:
            raise error(f"model '{entry.name}' {why}")


# images in

def open_image(source: ImageLike | io.BytesIO, name: str | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """A loaded Pillow image from a path, file object, Pillow image or uint8 array; a uint16 array
    for 16-bit arrays and 16-bit RGB files (Pillow cannot hold 16-bit RGB).

    Refuses what cannot be kept exactly, and images above `max_pixels` before decoding their pixels;
    `name` labels error messages (default: the path).
    """
    if isinstance(source, Image.Image):
        check_size(*source.size, max_pixels, name)
        source.load()
        return source
    if isinstance(source, np.ndarray):
        if source.ndim in (2, 3):
            check_size(source.shape[1], source.shape[0], max_pixels, name)
        return _from_array(source)
    name = name or str(source)
    try:
        im = Image.open(source)
        check_size(*im.size, max_pixels, name)
        if getattr(im, "n_frames", 1) > 1:
            raise UnsupportedImageError(f"{name}: animated or multi-page images are not supported")
        sixteen = any(";16" in str(tile.args) for tile in getattr(im, "tile", []) or [])
        im.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise UnsupportedImageError(f"{name}: not a readable image ({e.__class__.__name__})") from None
    except FileNotFoundError:
        raise UnsupportedImageError(f"{name}: no such file") from None
    except OSError as e:
        raise UnsupportedImageError(f"{name}: cannot read image ({e})") from None
    if im.mode in sixteen_bit.GREY_MODES:
        return im
    if sixteen and im.mode == "RGB":
        if im.info.get("icc_profile"):
            raise UnsupportedImageError(f"{name}: 16-bit RGB with an ICC profile is not supported yet")
        return sixteen_bit.read_rgb(source, name)
    if sixteen or im.mode.startswith("I") or im.mode == "F":
        raise UnsupportedImageError(f"{name}: of images deeper than 8 bits, only 16-bit greyscale and RGB are "
                                    f"supported (mode {im.mode}{', 16 bits per sample' if sixteen else ''})")
    return im


def _from_array(a: np.ndarray) -> Decoded:
    if a.dtype == np.uint16:
        return sixteen_bit.samples(a)
    if a.dtype != np.uint8:
        raise UnsupportedImageError(f"arrays must be uint8 or uint16, got {a.dtype}")
    if a.ndim == 2:
        a = a[..., None]
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if a.ndim != 3 or a.shape[2] not in modes:
        raise UnsupportedImageError(f"array shape {a.shape} is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")
    return Image.frombytes(modes[a.shape[2]], (a.shape[1], a.shape[0]), np.ascontiguousarray(a).tobytes())


def image_parts(image: ImageLike, max_pixels: int, name: str | None = None) -> ImageParts:
    """The planes of an image to code, refusing what a file cannot hold; `name` labels errors."""
    parts = split_image(open_image(image, name=name, max_pixels=min(max_pixels, MAX_PIXELS)))
    if parts.icc and len(parts.icc) > fmt.MAX_ICC_BYTES:
        raise UnsupportedImageError(f"{name + ': ' if name else ''}ICC profile of {len(parts.icc):,} bytes "
                                    f"exceeds the limit of {fmt.MAX_ICC_BYTES:,}")
    return parts


def default_model(parts: ImageParts, budget: int | None) -> tuple[str, int | None]:
    """The registered model an image is coded with when none is named, and its budget: a colour image by its
    size (Registry.default_for); an image with a grey, palette-index or alpha plane, or one asked a budget
    (the default ARDM's knob, which a flow lacks), by the default, which was trained on grey planes too
    where the flows see such a plane as three equal channels and code it three times."""
    if budget is not None or any(p.shape[-1] != 3 for p in parts.planes):
        return REGISTRY.default, budget
    return REGISTRY.default_for(parts.width * parts.height), None


def model_and_image(image: ImageLike, model: ModelSpec, budget: int | None,
                    max_pixels: int) -> tuple[ModelEntry, AnyModel, ImageParts, int]:
    """The model, the image's planes and the budget to code them at, checked to fit one another. With no model
    named, the image's size picks it (``Registry.default_for``)."""
    parts = image_parts(image, max_pixels)
    if model is None:
        model, budget = default_model(parts, budget)
    entry, net, budget = coding_model(model, budget)
    check_fits(net, entry, [p.shape for p in parts.planes], parts.planes)
    return entry, net, parts, budget


# codecs

def _plane_codec(model: AnyModel, shape: tuple[int, ...], budget: int, precision: int = DEFAULT_PRECISION,
                 order_seed: int = 0) -> AutoregressiveCodec | FlowCodec:
    """An ARDM spends the budget in the model's generation order variant `order_seed` (0: its fixed order); a
    discrete flow codes a plane in one pass (coded_budget has checked the budget and seed it was given)."""
    if is_flow(model):
        return FlowCodec(model, shape, precision)
    order = model.order(tuple(shape), order_seed) if order_seed else None
    return AutoregressiveCodec(model, shape, budget, precision, order=order)


def image_calls(model: AnyModel, shapes, budget: int) -> int:
    """Network calls that code an image of planes of these shapes at this budget."""
    return sum(_plane_codec(model, s, budget).calls for s in shapes)


def image_codec(model: AnyModel, shapes, budget: int, precision: int, progress: Progress | None = None,
                max_calls: int | None = None, order_seed: int = 0) -> Serial:
    """One codec per plane; progress(done, total) counts the codecs' steps (an ARDM's network calls, a flow's
    latents). Refuses an image of more than `max_calls` calls (None: no limit) before any call."""
    codecs = [_plane_codec(model, s, budget, precision, order_seed) for s in shapes]
    check_calls(sum(c.calls for c in codecs), max_calls)
    total = sum(c.steps for c in codecs)
    if progress is not None:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        for c in codecs:
            c.progress = tick
    return Serial(codecs)


# encoding

def encode_parts(entry: ModelEntry, net: AnyModel, images: list[ImageParts], budget: int, precision: int,
                 progress: Progress | None = None, bits: np.ndarray | None = None,
                 max_calls: int | None = None, search: int = 1, calls: list[int] | None = None) -> list[bytes]:
    """The .ardm bytes of images whose planes have the same shapes, coded as one batch: each network
    call serves them all, each file is byte for byte its image's alone (compress is the batch of one).

    bits: if given (one per image), each grows by its image's ideal code length, as model_bits() counts it.
    calls: if given, gets the network calls of each order coded.
    max_calls: refuse images of more network calls than this (None: no limit), before anything is coded;
    it bounds decoding, so it counts one order's calls however many are searched.
    search: order seeds 0 .. search-1 are each coded (the whole batch per seed, so batching holds) and
    each image keeps its smallest file, the lower seed on a tie."""
    seeds = range(search if has_orders(net) else 1)
    best, best_bits = None, None
    for seed in seeds:
        trial = None if bits is None else np.zeros(len(images))
        files = encode_order(entry, net, images, budget, precision, _pass(progress, seed, len(seeds)), trial, seed,
                             max_calls, calls)
        if best is None:
            best, best_bits = files, trial
            continue
        for i, data in enumerate(files):
            if len(data) < len(best[i]):
                best[i] = data
                if trial is not None:
                    best_bits[i] = trial[i]
    if bits is not None:
        bits += best_bits
    return best


def _pass(progress: Progress | None, k: int, passes: int) -> Progress | None:
    """Progress over `passes` passes of equal calls, this being pass k."""
    if progress is None or passes == 1:
        return progress
    return lambda done, total: progress(k * total + done, passes * total)


def encode_order(entry: ModelEntry, net: AnyModel, images: list[ImageParts], budget: int, precision: int,
                 progress: Progress | None, bits: np.ndarray | None, order_seed: int,
                 max_calls: int | None = None, calls: list[int] | None = None) -> list[bytes]:
    """encode_parts for one generation order (0: the model's fixed order), whatever its size; an image of
    more than max_calls calls is refused before anything is coded."""
    codec = image_codec(net, [p.shape for p in images[0].planes], budget, precision, progress, max_calls, order_seed)
    if calls is not None:
        calls.append(sum(c.calls for c in codec.codecs))
    coders = [AnsCoder() for _ in images]
    for i, (coder, parts) in enumerate(zip(coders, images)):
        if parts.bits == 16:  # pushed first, so popped after the high parts it is conditioned on
            LowByteCodec(parts.planes[0], parts.shift, precision).push(
                coder, parts.low, None if bits is None else bits[i:i + 1])
            push_range(coder, parts.offset, parts.shift)
    codec.push_batch(coders, [[p.astype(np.int64) for p in parts.planes] for parts in images], bits)
    return [fmt.pack(fmt.Header(entry.model_id, model_file.tag(entry), precision, budget, parts.mode, parts.width,
                                parts.height, parts.pixel_checksum(), parts.alpha_constant, parts.palette,
                                parts.icc, parts.colour_key, bits=parts.bits,
                                version=fmt.version_for(parts.bits, order_seed), order_seed=order_seed),
                     to_bytes(coder)) for parts, coder in zip(images, coders)]


def ideal_bits(net: AnyModel, parts: ImageParts, budget: int) -> float:
    """The model's ideal code length -log2 p(image) of an image's parts (no header, no coder overhead)."""
    bits = sum(_plane_codec(net, p.shape, budget).ideal_bits(p.astype(np.int64)) for p in parts.planes)
    return bits + (LowByteCodec(parts.planes[0], parts.shift).ideal_bits(parts.low) if parts.bits == 16 else 0.0)


# decoding

def checked_header(data: bytes) -> tuple[fmt.Header, bytes]:
    """A single image's header, verified, and its payload."""
    if is_archive(data):
        raise FormatError("an ardmzip archive of several images, not one (decompress_archive reads it)")
    head, payload = fmt.unpack(data)
    check_stream(head.precision, head.budget, [(None, head.width, head.height)], payload)
    return head, payload


def payload_coder(payload: bytes, what: str = "file") -> AnsCoder:
    """The rANS coder holding a file's payload."""
    try:
        return from_bytes(payload)
    except ValueError as e:  # constriction refuses streams no encoder can produce
        raise CorruptFileError(f"{what} is corrupted ({e})") from None


def decoding_model(model_id: int, weights_tag: bytes, model: ModelSpec) -> tuple[ModelEntry, AnyModel]:
    """The model a file (or archive) names, loaded; `model` is what the caller passed (a model file's path)."""
    entry = model_file.for_decoding(model_id, weights_tag, model)
    return entry, model_file.load(entry)


@dataclass(frozen=True)
class Coded:
    """A single image's file, checked before any network call: its header, model, planes and payload."""

    head: fmt.Header
    entry: ModelEntry
    net: AnyModel
    shapes: list[tuple[int, ...]]
    coder: AnsCoder


def coded_file(data: bytes, model: ModelSpec, max_pixels: int,
               models: dict[tuple[int, bytes], tuple[ModelEntry, AnyModel]] | None = None) -> Coded:
    """Everything decompress checks before decoding: the header, the size limit (before the model is loaded
    or anything allocated), the model it names, that the model codes its planes, and its payload.

    models: the models of files already seen, by (model number, weights tag), to load each once."""
    head, payload = checked_header(data)
    check_size(head.width, head.height, max_pixels)
    models = {} if models is None else models
    key = (head.model_id, head.weights_tag)
    if key not in models:
        models[key] = decoding_model(head.model_id, head.weights_tag, model)
    entry, net = models[key]
    coded_budget(net, head.budget, head.budget, head.order_seed, FormatError)
    shapes = plane_shapes(head.mode, head.width, head.height, alpha_coded=head.alpha_constant is None)
    check_fits(net, entry, shapes, error=CorruptFileError)
    return Coded(head, entry, net, shapes, payload_coder(payload))


def decode_parts(net: AnyModel, shapes, heads: list[fmt.Header], coders: list[AnsCoder],
                 progress: Progress | None = None, max_calls: int | None = None) -> list[Decoded | ArdmzipError]:
    """The images of .ardm payloads with the same planes' shapes, budget, precision and order seed, decoded as
    one batch (decompress is the batch of one); an image whose checks fail gets its error, the others are
    unaffected, as each coder holds only its own file's stream. More than `max_calls` network calls
    (None: no limit) raises a LimitError before the first."""
    batch = image_codec(net, shapes, heads[0].budget, heads[0].precision, progress, max_calls,
                        heads[0].order_seed).pop_batch(coders)
    out: list[Decoded | ArdmzipError] = []
    for head, coder, planes in zip(heads, coders, batch):
        low, offset, shift = None, 0, 8
        if head.bits == 16:
            offset, shift = pop_range(coder)
            low = LowByteCodec(planes[0].astype(np.uint8), shift, head.precision).pop(coder)
        parts = ImageParts(head.mode, head.width, head.height, [p.astype(np.uint8) for p in planes],
                           head.alpha_constant, head.palette, head.icc, head.colour_key, head.bits, low, offset, shift)
        if not coder.is_empty():  # popping everything returns rANS to its empty start state
            out.append(CorruptFileError("file is corrupted (coded data left over after the last pixel)"))
        elif parts.pixel_checksum() != head.pixel_crc:
            out.append(CorruptFileError("decoded pixels do not match the file's checksum"))
        else:
            try:
                out.append(join_image(parts))
            except ArdmzipError as e:  # samples that fit no image of the header's fields (a forged file)
                out.append(e)
    return out
