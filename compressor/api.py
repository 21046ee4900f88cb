"""The Python API: images in, .ardm bytes out, and back."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ardmzip.codecs.ans import AnsCoder, Serial, from_bytes, to_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.coding_model import FLOW, AnyModel, CodingModel, is_flow
from ardmzip.codecs.flow import FLOW_BUDGET, FlowCodec
from ardmzip.codecs.low_bytes import LowByteCodec, pop_range, push_range
from ardmzip.codecs.quantize import DEFAULT_PRECISION, MAX_PRECISION, MIN_PRECISION

from . import header as fmt
from . import model_file, sixteen_bit
from .archive_format import is_archive
from .errors import ArdmzipError, CorruptFileError, FormatError, LimitError, UnsupportedImageError
from .image_planes import ImageParts, join_image, plane_shapes, split_image
from .model_file import ModelSpec
from .registry import ModelEntry

ImageLike = Union[Image.Image, np.ndarray, str, os.PathLike]
Progress = Callable[[int, int], None]  # (done, total): network calls for one image; images for an archive
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


def open_image(source: ImageLike | io.BytesIO, name: str | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image | np.ndarray:
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


def _from_array(a: np.ndarray) -> Image.Image | np.ndarray:
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


def _plane_codec(model: AnyModel, shape: tuple[int, ...], budget: int, precision: int = DEFAULT_PRECISION,
                 order_seed: int = 0) -> AutoregressiveCodec | FlowCodec:
    """A discrete flow codes a plane in one pass and its files record FLOW_BUDGET; an ARDM spends the
    budget in the model's generation order variant `order_seed` (0: its fixed order)."""
    if not is_flow(model):
        order = model.order(tuple(shape), order_seed) if order_seed else None
        return AutoregressiveCodec(model, shape, budget, precision, order=order)
    if budget != FLOW_BUDGET:
        raise FormatError(f"a discrete flow's files record budget {FLOW_BUDGET}, not {budget}")
    if order_seed:
        raise FormatError("a discrete flow has no generation order, but the file names one")
    return FlowCodec(model, shape, precision)


def searchable(model: CodingModel) -> bool:
    """Whether compress's search has orders to try: an ARDM has, a discrete flow's one pass has none."""
    return not is_flow(model)


def check_search(search: int) -> None:
    if not 1 <= search <= MAX_SEARCH:
        raise ArdmzipError(f"search must be between 1 and {MAX_SEARCH} orders, got {search}")


def check_fits(net: CodingModel, entry: ModelEntry, shapes, planes=None,
               error: type[ArdmzipError] = UnsupportedImageError) -> None:
    """Refuse planes the model cannot code, in one line: a flow for class maps takes only maps of its
    classes (its ``refusal(shape, values)`` says why not); every other model takes any plane."""
    for i, shape in enumerate(shapes):
        why = net.refusal(tuple(shape), None if planes is None else planes[i])
        if why:
            raise error(f"model '{entry.name}' {why}")


def coding_budget(model: CodingModel, requested: int | None, resolved: int) -> int:
    """The budget to code with: a flow's is FLOW_BUDGET (asking for another is an error), else `resolved`."""
    if not is_flow(model):
        return resolved
    if requested not in (None, FLOW_BUDGET):
        raise ArdmzipError(f"a discrete flow makes one network pass: budget must be {FLOW_BUDGET}, got {requested}")
    return FLOW_BUDGET


def image_calls(model: AnyModel, shapes, budget: int) -> int:
    """Network calls that code an image of planes of these shapes at this budget."""
    return sum(_plane_codec(model, s, budget).calls for s in shapes)


def image_codec(model: AnyModel, shapes, budget: int, precision: int, progress: Progress | None = None,
                max_calls: int | None = None, order_seed: int = 0) -> Serial:
    """One autoregressive codec per plane; progress(done, total) counts network calls. Refuses an image
    of more than `max_calls` calls (None: no limit) before any call."""
    codecs = [_plane_codec(model, s, budget, precision, order_seed) for s in shapes]
    total = sum(c.calls for c in codecs)
    check_calls(total, max_calls)
    if progress is not None:
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        for c in codecs:
            c.progress = tick
    return Serial(codecs)


def resolve_model(model: ModelSpec, budget: int | None) -> tuple[ModelEntry, int]:
    """The model's entry (a model file is hashed now) and the checked budget, shared by everything that codes."""
    entry = model_file.resolve(model)
    budget = entry.default_budget if budget is None else int(budget)
    if not 1 <= budget <= MAX_BUDGET:
        raise ArdmzipError(f"budget must be between 1 and {MAX_BUDGET}, got {budget}")
    return entry, budget


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
    entry = model_file.resolve(model)
    net = model_file.load(entry)
    return ModelInfo(entry.name, entry.model_id, net.kind, net.classes, coding_budget(net, None, entry.default_budget),
                     entry.sha256)


def image_parts(image: ImageLike, max_pixels: int, name: str | None = None) -> ImageParts:
    """The planes of an image to code, refusing what a file cannot hold; `name` labels errors."""
    parts = split_image(open_image(image, name=name, max_pixels=min(max_pixels, MAX_PIXELS)))
    if parts.icc and len(parts.icc) > fmt.MAX_ICC_BYTES:
        raise UnsupportedImageError(f"{name + ': ' if name else ''}ICC profile of {len(parts.icc):,} bytes "
                                    f"exceeds the limit of {fmt.MAX_ICC_BYTES:,}")
    return parts


def check_precision(precision: int) -> None:
    if not MIN_PRECISION <= precision <= MAX_PRECISION:
        raise ArdmzipError(f"precision must be between {MIN_PRECISION} and {MAX_PRECISION}, got {precision}")


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


def compress_measured(image: ImageLike, model: ModelSpec = None, budget: int | None = None,
                      precision: int = DEFAULT_PRECISION, threads: int | None = None,
                      progress: Progress | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                      measure: bool = True, max_calls: int | None = DEFAULT_MAX_CALLS, search: int = 1) -> Measured:
    """compress(), and beside the bytes the model's ideal code length from the same network calls (in the
    order kept), so the coder's overhead can be reported without a second pass (measure=False: None)."""
    check_precision(precision)
    check_search(search)
    entry, net, parts, budget = _model_and_image(image, model, budget, max_pixels)
    bits = np.zeros(1) if measure else None
    with torch_threads(threads):
        data = encode_parts(entry, net, [parts], budget, precision, progress, bits, max_calls, search)[0]
    return Measured(data, None if bits is None else float(bits[0]))


def _model_and_image(image: ImageLike, model: ModelSpec, budget: int | None,
                     max_pixels: int) -> tuple[ModelEntry, AnyModel, ImageParts, int]:
    """The model, the image's planes and the budget to code them at, checked to fit one another."""
    entry, resolved = resolve_model(model, budget)
    parts = image_parts(image, max_pixels)
    net = model_file.load(entry)
    budget = coding_budget(net, budget, resolved)
    check_fits(net, entry, [p.shape for p in parts.planes], parts.planes)
    return entry, net, parts, budget


def encode_parts(entry: ModelEntry, net: AnyModel, images: list[ImageParts], budget: int, precision: int,
                 progress: Progress | None = None, bits: np.ndarray | None = None,
                 max_calls: int | None = None, search: int = 1) -> list[bytes]:
    """The .ardm bytes of images whose planes have the same shapes, coded as one batch: each network
    call serves them all, each file is byte for byte its image's alone (compress is the batch of one).

    bits: if given (one per image), each grows by its image's ideal code length, as model_bits() counts it.
    max_calls: refuse images of more network calls than this (None: no limit), before anything is coded;
    it bounds decoding, so it counts one order's calls however many are searched.
    search: order seeds 0 .. search-1 are each coded (the whole batch per seed, so batching holds) and
    each image keeps its smallest file, the lower seed on a tie."""
    seeds = range(search if searchable(net) else 1)
    best, best_bits = None, None
    for seed in seeds:
        trial = None if bits is None else np.zeros(len(images))
        files = encode_order(entry, net, images, budget, precision, _pass(progress, seed, len(seeds)), trial, seed,
                             max_calls)
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
                  max_calls: int | None = None) -> list[bytes]:
    """encode_parts for one generation order (0: the model's fixed order), whatever its size; an image of
    more than max_calls calls is refused before anything is coded."""
    codec = image_codec(net, [p.shape for p in images[0].planes], budget, precision, progress, max_calls, order_seed)
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


def model_bits(image: ImageLike, model: ModelSpec = None, budget: int | None = None,
               threads: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_calls: int | None = DEFAULT_MAX_CALLS) -> float:
    """The model's ideal code length -log2 p(image) in bits at this budget (no header, no coder overhead)."""
    _, net, parts, budget = _model_and_image(image, model, budget, max_pixels)
    check_calls(image_calls(net, [p.shape for p in parts.planes], budget), max_calls)
    with torch_threads(threads):
        bits = sum(_plane_codec(net, p.shape, budget).ideal_bits(p.astype(np.int64)) for p in parts.planes)
    return bits + (LowByteCodec(parts.planes[0], parts.shift).ideal_bits(parts.low) if parts.bits == 16 else 0.0)


def inspect(data: bytes) -> fmt.Header:
    """The verified header of .ardm bytes."""
    return _checked_header(data)[0]


def _checked_header(data: bytes) -> tuple[fmt.Header, bytes]:
    if is_archive(data):
        raise FormatError("an ardmzip archive of several images, not one (decompress_archive reads it)")
    head, payload = fmt.unpack(data)
    if not MIN_PRECISION <= head.precision <= MAX_PRECISION:
        raise FormatError(f"unsupported coder precision {head.precision}")
    if not 1 <= head.budget <= MAX_BUDGET:
        raise FormatError(f"unsupported budget {head.budget}")
    if head.width < 1 or head.height < 1 or head.width * head.height > MAX_PIXELS:
        raise FormatError(f"image size {head.width}x{head.height} is outside the supported range")
    if len(payload) % 4:
        raise CorruptFileError("file is corrupted (payload is not whole 32-bit words)")
    return head, payload


def payload_coder(payload: bytes) -> AnsCoder:
    """The rANS coder holding a file's payload."""
    try:
        return from_bytes(payload)
    except ValueError as e:  # constriction refuses streams no encoder can produce
        raise CorruptFileError(f"file is corrupted ({e})") from None


def decompress(data: bytes, threads: int | None = None, progress: Progress | None = None,
               model: ModelSpec = None, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_calls: int | None = DEFAULT_MAX_CALLS) -> Image.Image | np.ndarray:
    """Decode .ardm bytes to the exact original image; raises an ArdmzipError on any mismatch.

    16-bit greyscale comes back as an I;16 image, 16-bit RGB as a (H, W, 3) uint16 array.

    `model` is needed only for files written with a model file (the same file); images above
    `max_pixels` are refused from the header, before the model is loaded or anything allocated; files
    whose budget takes more than `max_calls` network calls (None: no limit), before the first call.
    """
    head, payload = _checked_header(data)
    check_size(head.width, head.height, max_pixels)
    entry = model_file.for_decoding(head.model_id, head.weights_tag, model)
    net = model_file.load(entry)
    shapes = plane_shapes(head.mode, head.width, head.height, alpha_coded=head.alpha_constant is None)
    check_fits(net, entry, shapes, error=CorruptFileError)
    coder = payload_coder(payload)
    with torch_threads(threads):
        try:
            image = decode_parts(net, shapes, [head], [coder], progress, max_calls)[0]
        except MemoryError:
            raise ArdmzipError(f"not enough memory to decode a {head.width}x{head.height} image") from None
    if isinstance(image, ArdmzipError):
        raise image
    return image


def decode_parts(net: AnyModel, shapes, heads: list[fmt.Header], coders: list[AnsCoder], progress: Progress | None = None,
                 max_calls: int | None = None) -> list[Image.Image | np.ndarray | ArdmzipError]:
    """The images of .ardm payloads with the same planes' shapes, budget, precision and order seed, decoded as one
    batch (decompress is the batch of one); an image whose checks fail gets its error, the others are
    unaffected, as each coder holds only its own file's stream. More than `max_calls` network calls
    (None: no limit) raises a LimitError before the first."""
    batch = image_codec(net, shapes, heads[0].budget, heads[0].precision, progress, max_calls,
                        heads[0].order_seed).pop_batch(coders)
    out: list[Image.Image | np.ndarray | ArdmzipError] = []
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


def compress_file(src: ImageLike, dst: str | os.PathLike, **kwargs) -> int:
    """Compress to a file, written atomically; returns the bytes written."""
    data = compress(src, **kwargs)
    atomic_write(dst, data)
    return len(data)


def decompress_file(src: str | os.PathLike, dst: str | os.PathLike, **kwargs) -> Image.Image | np.ndarray:
    """Decompress a .ardm file to a PNG file, written atomically."""
    im = decompress(Path(src).read_bytes(), **kwargs)
    atomic_write(dst, encode_png(im))
    return im


def encode_png(im: Image.Image | np.ndarray) -> bytes:
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
