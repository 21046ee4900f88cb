"""What the exact flows (IDF, DF, DDF) share: each is its integer tensors and config, which is all a model
file holds (``flow_files.py``), so building one from a trained float flow and loading one are the same step."""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

import numpy as np
import torch

from .flow_arrays import refusal

F = TypeVar("F", bound="ExactFlow")


def per_channel(table: np.ndarray, latents_per_channel: int) -> Callable[[np.ndarray], np.ndarray]:
    """Class weights of latents whose prior is their channel's (latents numbered channel by channel):
    `table` holds one row per channel, made once, instead of one per latent."""
    return lambda rows: table[rows // latents_per_channel]


class ExactFlow:
    """A flow as the coder sees it (codecs.coding_model.LatentModel, by shape), coding any plane of 8-bit values
    (ClassFlow narrows that). A subclass gives ``bounded``, ``part_sizes``, ``forward``, ``prior`` and ``inverse``;
    the batch methods here take the arrays one by one, for a subclass without one pass for a whole batch."""

    kind = "flow"  # codecs.coding_model.FLOW, equal by test
    classes = 256

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: Any):
        self.tensors, self.cfg = tensors, cfg

    @classmethod
    def from_float(cls: type[F], flow: Any) -> F:
        return cls(flow.integer_tensors(), flow.cfg)

    def config_json(self) -> str:
        return json.dumps(self.cfg.to_dict())

    def refusal(self, shape: tuple[int, ...], x: np.ndarray | None = None) -> str | None:
        return None

    def forward_batch(self, xs: np.ndarray) -> list[np.ndarray]:
        each = [self.forward(x) for x in xs]
        return [np.stack([parts[k] for parts in each]) for k in range(len(each[0]))]

    def prior_batch(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray], batch: int):
        each = [self.prior(shape, k, [p[b] for p in parts]) for b in range(batch)]
        return np.stack([starts for starts, _ in each]), lambda rows: np.stack([weights(rows) for _, weights in each])

    def inverse_batch(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> list[np.ndarray]:
        return [self.inverse(shape, [p[b] for p in parts]) for b in range(len(parts[0]))]


class ClassFlow(ExactFlow):
    """A flow over arrays of `cfg.classes` classes in `cfg.channels` channels (DF, DDF), which refuses others."""

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: Any):
        super().__init__(tensors, cfg)
        self.classes, self.channels = cfg.classes, cfg.channels

    def refusal(self, shape: tuple[int, ...], x: np.ndarray | None = None) -> str | None:
        return refusal(self.classes, self.channels, shape, x)

    def check(self, shape: tuple[int, ...], x: np.ndarray | None = None) -> None:
        """Raise the refusal, if any: coding an array the flow refuses is the caller's error."""
        why = self.refusal(shape, x)
        if why:
            raise ValueError(why)
