"""Training throughput: steps and images per second, and the share of a step that its draws take.

A benchmark, not part of a run: it times whole training steps (draws, network, backward, optimizer,
EMA), then the same steps' draws alone, on the training device with its queue drained around each
timing, so the figures hold on a GPU as on a CPU.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch

from .run_loop import FamilyRun, RunConfig, optimize, training_batch


@dataclass(frozen=True)
class Throughput:
    steps_per_s: float
    images_per_s: float
    draw_share: float  # of a whole step's time, the draws and network inputs alone
    batch: int
    device: str

    def line(self) -> str:
        return (f"{self.steps_per_s:.2f} steps/s, {self.images_per_s:,.0f} images/s at batch {self.batch} on "
                f"{self.device}; drawing {100 * self.draw_share:.1f}% of a step")


def _drained(device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    return time.perf_counter()


def measure(family: FamilyRun, sources: list[tuple[torch.Tensor, int]], cfg: RunConfig, steps: int, device: str,
            warmup: int = 3) -> Throughput:
    """sources: the training images on `device` (run_loop.training_sources); `steps` timed after `warmup`
    untimed ones."""
    if family.draw is None:
        raise ValueError("this model family has no separate draws to time")
    net = family.net.to(device)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    whole = slice(0, cfg.batch)

    def step(i: int) -> None:
        optimize(net, ema, opt, family.loss(net, training_batch(sources, i, cfg.seed, gen, cfg.crop), gen, whole),
                 i, cfg)

    for i in range(warmup):
        step(i)
    t0 = _drained(device)
    for i in range(warmup, warmup + steps):
        step(i)
    t1 = _drained(device)
    for i in range(warmup, warmup + steps):
        family.draw(training_batch(sources, i, cfg.seed, gen, cfg.crop), gen)
    t2 = _drained(device)
    per_step = (t1 - t0) / steps
    return Throughput(1 / per_step, cfg.batch / per_step, (t2 - t1) / steps / per_step, cfg.batch, device)
