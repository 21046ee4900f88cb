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

    def __init__(self, net: IntegerARDMNet, step_loss: Sequence[float] | None = None):
        """step_loss: the model's L_t per visible-fraction bin for the planner; None splits calls evenly."""
        self.net = net
        self.step_loss = tuple(step_loss) if step_loss is not None else None

    @classmethod
    def from_file(cls, path: str | Path) -> "OrderAgnosticARDM":
        """The coding model of a model file; the file says whether its budget is planned (the first
        shipped model predates the planner and keeps even splits, so its files still decode)."""
        info = model_info(path)
        return cls(load_model(path), info["step_loss_bits"] if info.get("schedule") == PLANNED else None)

    def schedule(self, shape: tuple[int, int, int], budget: int) -> list[np.ndarray]:
        """Flat indices coded by each network call, in generation order."""
        order = generation_order(shape)
        if self.step_loss is None:
            edges = even_groups(len(order), budget)
        else:
            edges = plan(self.step_loss, len(order), budget)
        return [order[lo:hi] for lo, hi in zip(edges[:-1], edges[1:])]

    def probabilities(self, x: np.ndarray, known: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """x, known: (H, W, C) arrays (values where known is False are ignored); idx: flat indices.

        Returns (len(idx), 256) int64 weights; each row's largest entry is 2**30.
        """
        h, w, c = x.shape
        planes = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).to(torch.int64)
        vis = torch.from_numpy(np.ascontiguousarray(known.transpose(2, 0, 1)))
        if c == 1:
            planes = planes.expand(DATA_CHANNELS, h, w)
            vis = vis.expand(DATA_CHANNELS, h, w)
        frac = fraction_level(int(known.sum()), known.size).view(1)
        feats = self.net.features(network_inputs(planes[None], vis[None], frac))[0]
        idx = torch.from_numpy(np.asarray(idx, dtype=np.int64))
        pixel, channel = idx // c, idx % c
        rows = feats.flatten(1)[:, pixel].t()
        return self.net.class_weights(rows, channel).numpy()
