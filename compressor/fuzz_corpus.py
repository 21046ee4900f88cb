"""The fuzzer's valid files: small files of every kind ardmzip writes, with what each must decode to.

Kinds: 8-bit single images of every mode and header option (format 1), 16-bit greyscale and RGB
(format 2), archives (dataset mode, with and without bits-back orders, and of a discrete flow),
discrete-flow files, depth-upscaling ARDM files, files of a model given by path (model number 0),
files of another generation order than the fixed one, as compress's search writes them (format 3),
and label maps coded by a model of classes (ddf-rgb8: 8-class maps, as palette or grey images).
The images are tiny, so that decoding a damaged file, or one whose forged size is a few times
larger, takes milliseconds to seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image

from ardmzip.codecs.quantize import DEFAULT_PRECISION

from . import _engine as engine
from . import api
from .archive import compress_archive
from .registry import REGISTRY

KINDS = ("8-bit", "16-bit", "archive", "flow", "upscale", "model-file", "searched", "label-map")
ORDER_SEEDS = (1, 2, 300)  # of the "searched" files: search keeps seed 0 on a tie, which tiny files often are
Decoded = Union[Image.Image, np.ndarray]  # what decoding returns: 16-bit RGB is a uint16 array


@dataclass(frozen=True)
class FuzzModels:
    """Registered models the valid files are written with (the tests register tiny ones)."""

    ardm: str
    upscale: str
    flows: tuple[str, ...]
    label_maps: tuple[str, ...]  # models of 8-class maps

    @classmethod
    def shipped(cls) -> FuzzModels:
        return cls(REGISTRY.default, "ardm-up4-c10", ("idf-c10", "df-c10"), ("ddf-rgb8",))


@dataclass(frozen=True)
class Valid:
    """A valid file, the (name, image) pairs it decodes to (name None for a single image), and the
    model file decoding must be given (files of a model given by path)."""

    kind: str
    data: bytes
    images: tuple[tuple[str | None, Decoded], ...]
    model: Path | None = None


def _noise(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    ramp = np.add.outer(np.arange(h) * 9, np.arange(w) * 5)[..., None] + np.arange(c) * 40
    return ((ramp + rng.integers(0, 30, (h, w, c))) % 256).astype(np.uint8)


def sample_images() -> list[Image.Image]:
    """Small 8-bit images of every mode and header option (palette, transparency, ICC, uniform alpha,
    an empty payload)."""
    rng = np.random.default_rng(0)
    rgba = Image.fromarray(_noise(rng, 8, 8, 4), "RGBA")
    la = Image.fromarray(np.concatenate([_noise(rng, 7, 9, 1), np.full((7, 9, 1), 200, np.uint8)], axis=2), "LA")
    pal = Image.fromarray(_noise(rng, 8, 10, 1)[..., 0] % 16, "L").convert("P")
    pal.putpalette(list(range(48)))
    pal.info["transparency"] = bytes(range(0, 256, 16))
    grey = Image.fromarray(_noise(rng, 6, 11, 1)[..., 0], "L")
    grey.info.update(transparency=7, icc_profile=b"not a real profile" * 3)
    return [Image.fromarray(_noise(rng, 9, 12, 3), "RGB"), rgba, la, pal, pal.convert("PA"), grey,
            Image.fromarray(_noise(rng, 5, 13, 1)[..., 0] > 60), Image.new("RGB", (16, 6))]


def sixteen_bit_images() -> list[Decoded]:
    """16-bit greyscale (12 bits used, so 4 low bits; and a span under 256, so none; with an ICC
    profile) and RGB (all 16 bits: 8 low bits; and one flat colour)."""
    rng = np.random.default_rng(1)

    def grey(a: np.ndarray, icc: bytes | None = None) -> Image.Image:
        im = Image.frombytes("I;16", (a.shape[1], a.shape[0]), a.astype("<u2").tobytes())
        if icc:
            im.info["icc_profile"] = icc
        return im

    twelve = 1000 + np.add.outer(np.arange(7) * 300, np.arange(9) * 90) + rng.integers(0, 64, (7, 9))
    narrow = 40000 + rng.integers(0, 200, (5, 6))
    return [grey(twelve), grey(narrow, b"profile " * 4), rng.integers(0, 1 << 16, (5, 6, 3), dtype=np.uint16),
            np.full((3, 4, 3), 513, np.uint16)]


def label_maps() -> list[Image.Image]:
    """8-class maps: a palette image (its palette kept) and a grey one of values 0 to 7."""
    rng = np.random.default_rng(2)
    blocks = np.kron(rng.integers(0, 8, (4, 5)), np.ones((3, 3), np.int64))[:11, :13].astype(np.uint8)
    pal = Image.fromarray(blocks, "L").convert("P")
    pal.putpalette([v for c in range(8) for v in (255 * (c >> 2), 255 * (c >> 1 & 1), 255 * (c & 1))])
    return [pal, Image.fromarray((blocks + rng.integers(0, 2, blocks.shape)).astype(np.uint8) % 8, "L")]


def build(kinds: tuple[str, ...] = KINDS, models: FuzzModels | None = None, budget: int = 3) -> list[Valid]:
    """The valid files of the kinds asked for; ARDM files at `budget`, flow files at their one pass."""
    models = models or FuzzModels.shipped()
    images = sample_images()
    out: list[Valid] = []

    def single(kind: str, image: Decoded, model=None, budget_: int | None = budget, order_seed: int = 0) -> None:
        if order_seed:
            entry, net, parts, budget_ = engine.model_and_image(image, model, budget_, engine.DEFAULT_MAX_PIXELS)
            data = engine.encode_order(entry, net, [parts], budget_, DEFAULT_PRECISION, None, None, order_seed)[0]
        else:
            data = api.compress(image, model=model, budget=budget_)
        out.append(Valid(kind, data, ((None, image),), model if isinstance(model, Path) else None))

    for kind in kinds:
        if kind == "8-bit":
            for im in images:
                single(kind, im, models.ardm)
        elif kind == "16-bit":
            for im in sixteen_bit_images():
                single(kind, im, models.ardm)
        elif kind == "archive":
            named = [("a.png", images[0]), ("dir/b.png", images[1]), ("c.bmp", images[3]), ("d.png", images[2]),
                     ("e/f/g.png", images[6]), ("h.png", images[5])]
            for model, orders, chosen in ((models.ardm, 2, named), (models.ardm, 1, named[:3]),
                                          (models.ardm, 0, named[3:]), (models.flows[0], 0, named[:3])):
                budget_ = None if model in models.flows else budget
                data = compress_archive(chosen, model=model, budget=budget_, orders=orders)
                out.append(Valid(kind, data, tuple(chosen)))
        elif kind == "flow":
            for model in models.flows:
                for im in (images[0], images[1], images[3], images[6]):
                    single(kind, im, model, None)
        elif kind == "upscale":
            for im in (images[0], images[2], images[5]):
                single(kind, im, models.upscale)
        elif kind == "model-file":
            path = REGISTRY.get(models.ardm).path
            for im in (images[0], images[4]):
                single(kind, im, path)
        elif kind == "searched":
            for (im, model), seed in zip(((images[0], models.ardm), (images[1], models.ardm), (images[4], models.ardm),
                                          (sixteen_bit_images()[0], models.ardm), (images[5], models.upscale)),
                                         ORDER_SEEDS * 2):
                single(kind, im, model, order_seed=seed)
        elif kind == "label-map":
            for model in models.label_maps:
                for im in label_maps():
                    single(kind, im, model, None)
        else:
            raise ValueError(f"unknown file kind {kind!r} (kinds: {', '.join(KINDS)})")
    return out
