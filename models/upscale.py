"""Depth-upscaling ARDM (Hoogeboom et al. 2021, Sec. 3.2): coarse bits first, over several stages.

With branching factor b (a power of two dividing 256), each 8-bit value is a number of
S = log_b(256) base-b digits. Stage s generates digit s of every sub-pixel in an order-agnostic
order, conditioned on all earlier stages: the network sees each sub-pixel as the interval of values
its known digits allow (``interval_inputs``) and predicts the next digit as the probability of each
sub-interval. The same network serves every stage; with b = 256 it is the plain OA-ARDM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .ardm import TILE, SteppedARDM, call_edges, channels_first, check_order, tiled_features
from .orders import RANDOM
from .ardm_net import NUM_CLASSES, fraction_level
from .integer_net import IntegerARDMNet
from .planner import plan_stages

VALUE_BITS = 8


@dataclass(frozen=True)
class Digits:
    """The base-b digits of an 8-bit value, most significant (coarsest) first."""

    branching: int = 4

    def __post_init__(self):
        b = self.branching
        if b < 2 or b & (b - 1) or VALUE_BITS % (b.bit_length() - 1):
            raise ValueError(f"branching factor must be 2, 4, 16 or 256, got {b}")

    @property
    def bits(self) -> int:
        return self.branching.bit_length() - 1

    @property
    def stages(self) -> int:
        return VALUE_BITS // self.bits

    def shift(self, stage: int) -> int:
        return VALUE_BITS - self.bits * (stage + 1)

    def split(self, x):
        """(...) values -> (S, ...) digits."""
        return np.stack([(x >> self.shift(s)) & (self.branching - 1) for s in range(self.stages)])

    def join(self, digits):
        return sum(digits[s] << self.shift(s) for s in range(self.stages))

    def interval(self, x, known_digits):
        """The values [lo, hi] that x's first `known_digits` digits allow (works on arrays and tensors)."""
        width = NUM_CLASSES >> (self.bits * known_digits)
        lo = (x >> (VALUE_BITS - self.bits * known_digits)) << (VALUE_BITS - self.bits * known_digits)
        return lo, lo + width - 1

    def level(self, known_digits):
        """How much of a value is known, on the network's 0..127 mask scale."""
        return known_digits * 127 // self.stages


def stage_budgets(budget: int, stages: int) -> list[int]:
    """Calls per stage: an even share, at least one each."""
    budget = max(budget, stages)
    return [budget // stages + (s < budget % stages) for s in range(stages)]


class UpscaleARDM(SteppedARDM):
    """SteppedModel over digit planes (S, H, W, C): one network call generates part of one stage."""

    def __init__(self, net: IntegerARDMNet, branching: int, step_loss: Sequence[float] | None = None,
                 tile: int = TILE, share_by_loss: bool = False, order_family: str = RANDOM):
        """step_loss: L_t over the whole generation (all stages, in order); None splits calls evenly.
        share_by_loss: split the budget between stages by their L_t too (otherwise evenly, for model files
        that do not ask for it). order_family: the orders of each stage (orders.py)."""
        super().__init__(order_family)
        self.net = net
        self.digits = Digits(branching)
        self.alphabet_size = branching
        self.step_loss = tuple(step_loss) if step_loss is not None else None
        self.tile = tile
        self.share_by_loss = share_by_loss and step_loss is not None

    def symbol_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.digits.stages, *shape)

    def to_symbols(self, x: np.ndarray) -> np.ndarray:
        return self.digits.split(np.asarray(x, dtype=np.int64))

    def from_symbols(self, symbols: np.ndarray) -> np.ndarray:
        return self.digits.join(symbols)

    def schedule(self, shape: tuple[int, ...], budget: int, order: np.ndarray | None = None) -> list[np.ndarray]:
        """Stage after stage; within a stage, `order` over the image's dimensions (default: the shape's
        fixed order), split by the planner."""
        stages, image_shape = shape[0], tuple(shape[1:])
        order = self.order(image_shape) if order is None else check_order(order, int(np.prod(image_shape)))
        d, n = len(order), len(self.step_loss or ())
        if self.share_by_loss:
            stage_edges = plan_stages(self.step_loss, stages, d, budget)
        else:
            stage_edges = [call_edges(None if self.step_loss is None
                                      else self.step_loss[s * n // stages:(s + 1) * n // stages], d, k)
                           for s, k in enumerate(stage_budgets(budget, stages))]
        return [s * d + order[lo:hi] for s, edges in enumerate(stage_edges) for lo, hi in zip(edges[:-1], edges[1:])]

    def condition(self, symbols: np.ndarray, known: np.ndarray):
        """One network call; returns flat symbol indices (all of the current stage) -> (n, b) weights."""
        weights = self.condition_batch(symbols[None], known)
        return lambda idx: weights(idx)[0]

    def condition_batch(self, symbols: np.ndarray, known: np.ndarray):
        """One network call for a batch (B, S, H, W, C) sharing one `known` mask (S, H, W, C); returns flat
        symbol indices -> (B, n, b) weights, each image's the same integers as its own call gives."""
        batch, stages, h, w, c = symbols.shape
        d = h * w * c
        k = known.sum(axis=0)  # digits known per sub-pixel
        partial = self.digits.join(np.moveaxis(np.where(known, symbols, 0), 1, 0))  # unknown digits are 0
        position = int(known.sum())
        stage = min(position // d, stages - 1)
        part_t, k_t = channels_first(partial), channels_first(k)

        def intervals(crop: tuple[slice, slice]):
            kk = k_t[:, crop[0], crop[1]]
            lo, hi = self.digits.interval(part_t[..., crop[0], crop[1]], kk)
            return lo, hi, self.digits.level(kk).expand_as(lo)

        feats = tiled_features(self.net, intervals, (h, w), fraction_level(position, stages * d), self.tile)
        width = NUM_CLASSES >> (self.digits.bits * stage)
        starts = torch.from_numpy(partial.reshape(batch, -1))

        def weights(idx: np.ndarray) -> np.ndarray:
            dim = torch.from_numpy(np.asarray(idx, dtype=np.int64)) - stage * d
            pixel, channel = dim // c, dim % c

            def one(f: torch.Tensor, start: torch.Tensor) -> torch.Tensor:  # image by image, as in ardm.py
                w = self.net.class_weights(f[pixel], channel, start[dim], width)
                sums = w.view(len(dim), self.alphabet_size, -1).sum(dim=2)
                return _fit_30_bits(sums)

            return torch.stack([one(f, start) for f, start in zip(feats, starts)]).numpy()

        return weights


def _fit_30_bits(w: torch.Tensor) -> torch.Tensor:
    """Shift each row right until its largest weight is below 2**30 (quantize_probabilities' range)."""
    _, exponent = torch.frexp(w.max(dim=1, keepdim=True).values.double())  # max < 2**exponent, exactly
    return w >> (exponent.to(torch.int64) - 30).clamp_(min=0)
