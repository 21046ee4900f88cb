"""Order-agnostic ARDM for coding: a generation order per image shape (orders.py), steps grouped into calls.

Images are (H, W, C) integer arrays with C = 3 (colour) or C = 1 (one plane: grey, alpha, palette
indices). A single plane is shown to the colour network as three equal channels revealed together,
and coded with the first channel's distribution.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .ardm_net import DATA_CHANNELS, NUM_CLASSES, fraction_level, interval_inputs
from .integer_net import IntegerARDMNet
from .orders import RANDOM, check_family, family_order
from .planner import plan

TILE = 256  # feature tile edge: bounded memory, no slower; chosen by measurement (docs/how-it-works.md, Large images)

def check_order(order: np.ndarray, d: int) -> np.ndarray:
    """A given generation order, refused unless it is a permutation of the d dimensions."""
    order = np.asarray(order, dtype=np.int64)
    if order.shape != (d,) or not np.array_equal(np.sort(order), np.arange(d)):
        raise ValueError(f"generation order is not a permutation of {d} dimensions")
    return order


def even_groups(d: int, budget: int) -> np.ndarray:
    """Left edges plus the end, splitting d generation steps into at most `budget` calls."""
    k = max(1, min(int(budget), d))
    return (np.arange(k + 1, dtype=np.int64) * d) // k


def call_edges(step_loss: Sequence[float] | None, d: int, budget: int) -> np.ndarray:
    """Edges of the calls over d steps: planned on the model's L_t, or even splits when it has none."""
    return even_groups(d, budget) if step_loss is None else plan(step_loss, d, budget)


class SteppedARDM:
    """What every ARDM tells the coder besides its network calls (codecs.coding_model.SteppedModel, by shape):
    its kind, the 8-bit values it codes in any plane, and its generation orders."""

    kind = "autoregressive"  # codecs.coding_model.AUTOREGRESSIVE, equal by test
    classes = NUM_CLASSES

    def __init__(self, order_family: str = RANDOM):
        """order_family: the orders its files are coded in (orders.py), as its model file says."""
        self.order_family = check_family(order_family)

    def refusal(self, shape: tuple[int, ...], x: np.ndarray | None = None) -> str | None:
        return None  # any plane of 8-bit values

    def order(self, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
        """A plane's generation order (each stage's, for a digit model): variant `seed` of the model's family
        (0: its fixed order)."""
        return family_order(self.order_family, shape, seed)


class OrderAgnosticARDM(SteppedARDM):
    """Turns a partially known image into integer class weights for the dimensions coded next."""

    alphabet_size = NUM_CLASSES

    def __init__(self, net: IntegerARDMNet, step_loss: Sequence[float] | None = None, tile: int = TILE,
                 order_family: str = RANDOM):
        """step_loss: the model's L_t per visible-fraction bin for the planner; None splits calls evenly.
        tile: edge of the feature tiles; it changes memory and speed, never the numbers.
        order_family: the orders its files are coded in (orders.py), as its model file says."""
        super().__init__(order_family)
        self.net = net
        self.step_loss = tuple(step_loss) if step_loss is not None else None
        self.tile = tile

    def schedule(self, shape: tuple[int, int, int], budget: int, order: np.ndarray | None = None) -> list[np.ndarray]:
        """Flat indices coded by each network call, in generation order (default: the shape's fixed order)."""
        order = self.order(shape) if order is None else check_order(order, int(np.prod(shape)))
        edges = call_edges(self.step_loss, len(order), budget)
        return [order[lo:hi] for lo, hi in zip(edges[:-1], edges[1:])]

    def symbol_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    def to_symbols(self, x: np.ndarray) -> np.ndarray:
        return x

    def from_symbols(self, symbols: np.ndarray) -> np.ndarray:
        return symbols

    def condition(self, x: np.ndarray, known: np.ndarray):
        """One network call on x (H, W, C) where known; returns flat indices -> (n, 256) int64 weights."""
        weights = self.condition_batch(x[None], known)
        return lambda idx: weights(idx)[0]

    def condition_batch(self, xs: np.ndarray, known: np.ndarray):
        """One network call for a batch xs (B, H, W, C) that shares one `known` mask (H, W, C); returns flat
        indices -> (B, n, 256) int64 weights, each image's the same integers as its own call gives."""
        b, h, w, c = xs.shape
        planes, vis = channels_first(xs), channels_first(known)

        def intervals(crop: tuple[slice, slice]):
            p, v = planes[..., crop[0], crop[1]], vis[:, crop[0], crop[1]]
            return torch.where(v, p, 0), torch.where(v, p, 255), (v.to(torch.int64) * 127).expand_as(p)

        feats = tiled_features(self.net, intervals, (h, w), fraction_level(int(known.sum()), known.size), self.tile)

        def weights(idx: np.ndarray) -> np.ndarray:
            idx = torch.from_numpy(np.asarray(idx, dtype=np.int64))
            pixel, channel = idx // c, idx % c
            # image by image: the head's (rows, mixtures, 256) temporaries stay as small as for one image
            return torch.stack([self.net.class_weights(f[pixel], channel) for f in feats]).numpy()

        return weights

    def probabilities(self, x: np.ndarray, known: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Weights (len(idx), 256) for x.flat[idx]: one call, for callers that need a single table."""
        return self.condition(x, known)(idx)


def channels_first(a: np.ndarray) -> torch.Tensor:
    """(..., H, W, C) array -> (..., 3, H, W) tensor; a single plane is shown as three equal channels."""
    t = torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, -3)))
    t = t.to(torch.int64) if t.dtype != torch.bool else t
    return t.expand(*t.shape[:-3], DATA_CHANNELS, *t.shape[-2:]) if t.shape[-3] == 1 else t


Intervals = Callable[[tuple[slice, slice]], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def tiled_features(net: IntegerARDMNet, intervals: Intervals, size: tuple[int, int], frac: torch.Tensor | int,
                   tile: int) -> torch.Tensor:
    """(B, H * W, width) uint8 head inputs, tile by tile; intervals(crop) gives (lo, hi, level) (B, 3, h, w) there.

    Each tile has a margin of the receptive radius, so it sees every input its outputs depend on and
    zero padding only at the image's own border: the integers equal a whole-image pass while memory
    stays that of one tile (times the batch). Activations lie in [0, 127], so uint8 keeps them in 64
    bytes a pixel. Every image of the batch is at the same visible fraction `frac`.
    """
    h, w = size
    r = net.config.receptive_radius
    out = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ya, xa, yb, xb = max(0, y0 - r), max(0, x0 - r), min(h, y1 + r), min(w, x1 + r)
            lo, hi, level = intervals((slice(ya, yb), slice(xa, xb)))
            if out is None:
                out = torch.empty(len(lo), h, w, net.config.width, dtype=torch.uint8)
            fracs = torch.as_tensor(frac).view(1).repeat(len(lo))
            f = net.features(interval_inputs(lo, hi, level, fracs))[:, :, y0 - ya:y1 - ya, x0 - xa:x1 - xa]
            out[:, y0:y1, x0:x1] = f.permute(0, 2, 3, 1)
    return out.view(len(out), h * w, -1)
