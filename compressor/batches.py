"""Many images at once: images of one size share every network call, and each file is as if coded alone.

compress_many and decompress_many code the images whose planes have the same shapes (to decode, also
the same model, budget, precision and order seed) in batches through the engine's encode_parts and
decode_parts, after its checks of each image or file: a file is byte for byte what compress() writes
for its image alone, and decodes alone, since each image keeps its own rANS coder and the integer
networks give every image of a batch the numbers it gets alone.
A batch holds at most `batch` images and MAX_BATCH_PIXELS pixels, so its memory stays about that of
one image of that many pixels; a larger image is a batch of one.

Archives (dataset mode) are not batched: their images share one rANS stack, and with bits-back each
image's generation order is popped from the bits the images before it left, so its network inputs do
not exist before those images are coded; decoding pops each image's whole stream before the next one's.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from ardmzip.codecs.quantize import DEFAULT_PRECISION

from . import _engine as engine
from . import api
from ._engine import DEFAULT_MAX_CALLS, DEFAULT_MAX_PIXELS, ImageLike
from .errors import ArdmzipError
from .model_file import ModelSpec

DEFAULT_BATCH = 16
MAX_BATCH_PIXELS = 1 << 16  # 64 32x32 images, 16 of 64x64, one of 256x256: one feature tile's worth


def batches(keys: Sequence[Hashable | None], pixels: Sequence[int], batch: int = DEFAULT_BATCH,
            spread: int = 1) -> list[list[int]]:
    """Indices of items with equal keys in batches of at most `batch` items and MAX_BATCH_PIXELS pixels
    (an item of key None is alone); groups in the order of their first item.

    A group is split into nearly equal batches, their count a multiple of `spread` where the group
    allows, so that `spread` workers taking batches as they come finish together."""
    groups: dict[Hashable, list[int]] = {}
    ordered: list[list[int]] = []
    for i, key in enumerate(keys):
        if key is None:
            ordered.append([i])
        elif key in groups:
            groups[key].append(i)
        else:
            groups[key] = [i]
            ordered.append(groups[key])
    out = []
    for members in ordered:
        size = max(1, min(batch, MAX_BATCH_PIXELS // max(1, pixels[members[0]])))
        count = -(-len(members) // size)
        count = min(len(members), -(-count // spread) * spread)
        out.extend([int(i) for i in part] for part in np.array_split(members, count))
    return out


def _failed(error: ArdmzipError, return_errors: bool) -> ArdmzipError:
    if not return_errors:
        raise error
    return error


def compress_many(images: Sequence[ImageLike], model: ModelSpec = None, budget: int | None = None,
                  precision: int = DEFAULT_PRECISION, threads: int | None = None,
                  max_pixels: int = DEFAULT_MAX_PIXELS, batch: int = DEFAULT_BATCH,
                  return_errors: bool = False, max_calls: int = DEFAULT_MAX_CALLS, search: int = 1) -> list:
    """The .ardm bytes of each image (as compress() gives them, `search` too), same-size images coded in batches.

    An image that cannot be compressed raises the ArdmzipError compress() raises for it, or with
    return_errors stands in the list as that error while the others are coded. Every image's planes
    are held until all are coded.
    """
    engine.check_precision(precision)
    engine.check_search(search)
    coders: dict = {}  # (model spec, budget) -> (entry, net, budget): one for a named model, one per size class else

    def coder(spec: ModelSpec, asked: int | None):
        if (spec, asked) not in coders:
            coders[spec, asked] = engine.coding_model(spec, asked)
        return coders[spec, asked]

    if model is not None:
        coder(model, budget)  # a model that cannot load fails the call, not each image
    results: list = [None] * len(images)
    ready, specs = {}, {}
    for i, image in enumerate(images):
        try:
            parts = engine.image_parts(image, max_pixels)
            spec = (model, budget) if model is not None else engine.default_model(parts, budget)
            entry, net, coded_budget = coder(*spec)
            engine.check_fits(net, entry, [p.shape for p in parts.planes], parts.planes)
            engine.check_calls(engine.image_calls(net, [p.shape for p in parts.planes], coded_budget), max_calls)
            ready[i], specs[i] = parts, spec
        except ArdmzipError as e:
            results[i] = _failed(e, return_errors)
    todo = sorted(ready)
    keys = [(specs[i], tuple(p.shape for p in ready[i].planes)) for i in todo]
    with engine.torch_threads(threads):
        for members in batches(keys, [ready[i].width * ready[i].height for i in todo], batch):
            chosen = [todo[m] for m in members]
            entry, net, coded_budget = coders[specs[chosen[0]]]  # one spec per batch: it is part of the key
            try:
                coded = engine.encode_parts(entry, net, [ready[i] for i in chosen], coded_budget, precision,
                                            search=search)
            except MemoryError:  # short of memory for the batch: each image alone, as compress() codes it
                if len(chosen) == 1:
                    raise
                coded = [engine.encode_parts(entry, net, [ready[i]], coded_budget, precision, search=search)[0]
                         for i in chosen]
            for i, data in zip(chosen, coded):
                results[i] = data
    return results


def decompress_many(files: Sequence[bytes], threads: int | None = None, model: ModelSpec = None,
                    max_pixels: int = DEFAULT_MAX_PIXELS, batch: int = DEFAULT_BATCH,
                    return_errors: bool = False, max_calls: int = DEFAULT_MAX_CALLS) -> list:
    """Each .ardm file's image (as decompress() gives it), files of one size, model and budget decoded
    in batches. A file that cannot be decoded raises decompress()'s ArdmzipError for it, or with
    return_errors stands in the list as that error while the others are decoded."""
    results: list = [None] * len(files)
    models: dict = {}  # loaded once per model number and weights tag
    ready = {}
    for i, data in enumerate(files):
        try:
            coded = engine.coded_file(data, model, max_pixels, models)
            engine.check_calls(engine.image_calls(coded.net, coded.shapes, coded.head.budget), max_calls)
            ready[i] = coded
        except ArdmzipError as e:
            results[i] = _failed(e, return_errors)
    todo = sorted(ready)
    heads = {i: ready[i].head for i in todo}
    keys = [(heads[i].model_id, heads[i].weights_tag, heads[i].budget, heads[i].precision, heads[i].order_seed,
             tuple(ready[i].shapes)) for i in todo]
    with engine.torch_threads(threads):
        for members in batches(keys, [heads[i].width * heads[i].height for i in todo], batch):
            chosen = [todo[m] for m in members]
            first = ready[chosen[0]]
            try:
                images = engine.decode_parts(first.net, first.shapes, [heads[i] for i in chosen],
                                             [ready[i].coder for i in chosen])
            except MemoryError:  # short of memory for the batch: each file alone, through decompress()
                images = []
                for i in chosen:
                    try:
                        images.append(api.decompress(files[i], model=model, max_pixels=max_pixels,
                                                     max_calls=max_calls))
                    except ArdmzipError as e:
                        images.append(e)
            for i, image in zip(chosen, images):
                results[i] = _failed(image, return_errors) if isinstance(image, ArdmzipError) else image
    return results
