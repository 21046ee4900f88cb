"""Order-agnostic ARDM for coding: a fixed generation order per image shape, steps grouped into calls.

Images are (H, W, C) integer arrays with C = 3 (colour) or C = 1 (one plane: grey, alpha, palette
indices). A single plane is shown to the colour network as three equal channels revealed together,
and coded with the first channel's distribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .ardm_net import DATA_CHANNELS, NUM_CLASSES, fraction_level, network_inputs
from .integer_net import IntegerARDMNet
from .planner import plan
from .serialization import load_model, model_info

TILE = 256  # feature tile edge; measured on Kodak (README, large images): bounded memory, no slower
PLANNED = "planned"  # a model file's info["schedule"] value that turns the budget planner on

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed integer hash, so the order never depends on a library's random number stream."""
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return x ^ (x >> np.uint64(31))


def generation_order(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A pseudo-random permutation of the flat dimensions of `shape`, the same on every machine."""
    d = int(np.prod(shape))
    key = np.uint64(seed)
    for s in shape:
        key = _splitmix64(np.array([key ^ np.uint64(s)], dtype=np.uint64))[0]
    keys = _splitmix64(np.arange(d, dtype=np.uint64) ^ key)
    return np.argsort(keys, kind="stable")


def even_groups(d: int, budget: int) -> np.ndarray:
    """Left edges plus the end, splitting d generation steps into at most `budget` calls."""
    k = max(1, min(int(budget), d))
    return (np.arange(k + 1, dtype=np.int64) * d) // k


class OrderAgnosticARDM:
    """Turns a partially known image into integer class weights for the dimensions coded next."""

    alphabet_size = NUM_CLASSES

    def __init__(self, net: IntegerARDMNet, step_loss: Sequence[float] | None = None, tile: int = TILE):
        """step_loss: the model's L_t per visible-fraction bin for the planner; None splits calls evenly.
        tile: edge of the feature tiles; it changes memory and speed, never the numbers."""
        self.net = net
        self.step_loss = tuple(step_loss) if step_loss is not None else None
        self.tile = tile

    @classmethod
    def from_file(cls, path: str | Path) -> "OrderAgnosticARDM":
        """The coding model of a model file; the file says whether its budget is planned (the first
        shipped model predates the planner and keeps even splits, so its files still decode)."""
        info = model_info(path)
        if info.get("schedule") != PLANNED:
            return cls(load_model(path))
        loss = info.get("step_loss_bits")
        if not (isinstance(loss, list) and 1 <= len(loss) <= 4096
                and all(isinstance(v, (int, float)) and 0 <= v <= 64 for v in loss)):
            raise ValueError("model file's step_loss_bits must be 1 to 4096 numbers in [0, 64]")
        return cls(load_model(path), loss)

    def schedule(self, shape: tuple[int, int, int], budget: int) -> list[np.ndarray]:
        """Flat indices coded by each network call, in generation order."""
        order = generation_order(shape)
        if self.step_loss is None:
            edges = even_groups(len(order), budget)
        else:
            edges = plan(self.step_loss, len(order), budget)
        return [order[lo:hi] for lo, hi in zip(edges[:-1], edges[1:])]

    def condition(self, x: np.ndarray, known: np.ndarray):
        """One network call on x (H, W, C) where known; returns flat indices -> (n, 256) int64 weights.

        Features are kept as uint8 (activations lie in [0, 127]): 64 bytes per pixel at width 64.
        """
        h, w, c = x.shape
        planes = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).to(torch.int64)
        vis = torch.from_numpy(np.ascontiguousarray(known.transpose(2, 0, 1)))
        if c == 1:
            planes = planes.expand(DATA_CHANNELS, h, w)
            vis = vis.expand(DATA_CHANNELS, h, w)
        feats = self._features(planes, vis, fraction_level(int(known.sum()), known.size).view(1))

        def weights(idx: np.ndarray) -> np.ndarray:
            idx = torch.from_numpy(np.asarray(idx, dtype=np.int64))
            return self.net.class_weights(feats[idx // c], idx % c).numpy()

        return weights

    def probabilities(self, x: np.ndarray, known: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Weights (len(idx), 256) for x.flat[idx]: one call, for callers that need a single table."""
        return self.condition(x, known)(idx)

    def _features(self, planes: torch.Tensor, vis: torch.Tensor, frac: torch.Tensor) -> torch.Tensor:
        """(H * W, width) head inputs, computed tile by tile with a margin of the receptive radius.

        Each tile sees every input its outputs depend on, and zero padding only at the image's own
        border, so the integers equal a whole-image pass while memory stays that of one tile.
        """
        h, w = planes.shape[1:]
        r, t = self.net.config.receptive_radius, self.tile
        out = torch.empty(h, w, self.net.config.width, dtype=torch.uint8)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                ya, xa, yb, xb = max(0, y0 - r), max(0, x0 - r), min(h, y1 + r), min(w, x1 + r)
                inputs = network_inputs(planes[None, :, ya:yb, xa:xb], vis[None, :, ya:yb, xa:xb], frac)
                f = self.net.features(inputs)[0, :, y0 - ya:y1 - ya, x0 - xa:x1 - xa]
                out[y0:y1, x0:x1] = f.permute(1, 2, 0)
        return out.view(h * w, -1)
