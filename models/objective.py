"""ARDM training objectives (Hoogeboom et al. 2021): order-agnostic (Sec. 3) and depth-upscaling (Sec. 3.2),
and the calls of planned budgets in one order family."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .ardm_net import DATA_CHANNELS, ARDMNet, fraction_level, interval_inputs, network_inputs
from .data import grey_planes
from .orders import RANDOM, TRAINING_SEEDS, family_order
from .planner import plan, plan_stages
from .upscale import Digits


@dataclass
class ObjectiveResult:
    bpd: torch.Tensor  # (B,) unbiased estimate of -log2 p(x) / D per image
    step: torch.Tensor  # (B,) generation steps already taken, out of `steps`
    steps: int
    step_bits: torch.Tensor  # (B,) mean bits per dimension generated at that step (in random orders the paper's L_t)


def family_ranks(family: str, seeds: list[int], shape: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, H, W) generation step of each dimension in the order of `family` variant seeds[b]; the coder's
    orders (orders.py) run over flat (H, W, C) planes."""
    c, h, w = shape
    ranks = np.empty((len(seeds), h * w * c), dtype=np.int64)
    for b, seed in enumerate(seeds):
        ranks[b, family_order(family, (h, w, c), seed)] = np.arange(h * w * c)
    return torch.from_numpy(ranks).view(len(seeds), h, w, c).permute(0, 3, 1, 2)


def order_ranks(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None, family: str) -> torch.Tensor:
    """(B, C, H, W) generation steps of a uniformly random order per example, or of a random variant of `family`."""
    if family == RANDOM:
        d = shape[0] * shape[1] * shape[2]
        return torch.rand(batch, d, generator=generator).argsort(dim=1).argsort(dim=1).view(batch, *shape)
    return family_ranks(family, torch.randint(0, TRAINING_SEEDS, (batch,), generator=generator).tolist(), shape)


def random_visibility(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None = None,
                      t: torch.Tensor | None = None, family: str = RANDOM):
    """t ~ U{0..D-1} (unless given) and an order per example (``order_ranks``); visible = first t dimensions of it."""
    d = shape[0] * shape[1] * shape[2]
    if t is None:
        t = torch.randint(0, d, (batch,), generator=generator)
    visible = order_ranks(batch, shape, generator, family) < t.view(-1, 1, 1, 1)
    return t, visible


def colour_and_grey(x: torch.Tensor, grey: float) -> list[torch.Tensor]:
    """A batch split into colour images and, from the first round(grey * B) of them, grey planes."""
    n = round(grey * len(x))
    return [part for part in (x[n:], grey_planes(x[:n])) if len(part)]


def _shown(*planes: torch.Tensor) -> list[torch.Tensor]:
    """A single plane goes to the colour network as three equal channels, as ardm.channels_first shows it to the
    coder, which reads its first channel's prediction."""
    return [p.expand(-1, DATA_CHANNELS, -1, -1) if p.shape[1] == 1 else p for p in planes]


@lru_cache(maxsize=1024)
def _edges(step_loss: tuple[float, ...], d: int, budget: int, stages: int) -> np.ndarray:
    """Edges of the coder's calls over `stages` successive stages of d steps (as UpscaleARDM.schedule
    shares a budget between stages by their L_t), numbered through the stages."""
    if stages == 1:
        return plan(step_loss, d, budget)
    return np.unique(np.concatenate([s * d + e for s, e in enumerate(plan_stages(step_loss, stages, d, budget))]))


@dataclass(frozen=True)
class CallPlans:
    """The calls the coder makes: at budget K, call k predicts steps [e_k, e_k+1) of the order from the first
    e_k (edges planned on `step_loss`, as the model file will plan them). In one order family the steps coded
    next are not a random sample of the hidden ones (in dispersed orders they are harder), so the
    order-agnostic loss over all hidden dimensions is neither the code length nor what the coder asks for;
    training on the calls is both, averaged over budgets drawn log-uniformly from `budgets`."""

    step_loss: tuple[float, ...]
    budgets: tuple[int, int] = (8, 128)

    def __post_init__(self):
        if len(self.budgets) != 2 or not 1 <= self.budgets[0] <= self.budgets[1]:
            raise ValueError(f"budgets must be LO,HI with 1 <= LO <= HI, not {','.join(map(str, self.budgets))}")

    def draw(self, batch: int, d: int, generator: torch.Generator | None,
             t: torch.Tensor | None = None, stages: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """(start, end) of the call holding a uniform step t (unless given) of `stages` * d at a random budget: a
        call is drawn in proportion to its steps, so the mean over its steps is an unbiased code length per
        dimension and stage. Steps count through the stages of a depth-upscaling model (stage = start // d)."""
        lo, hi = self.budgets
        u = torch.rand(batch, generator=generator, dtype=torch.float64)
        budgets = torch.floor(lo * (hi / lo) ** u + 0.5).to(torch.int64).clamp(lo, hi).tolist()
        if t is None:
            t = torch.randint(0, stages * d, (batch,), generator=generator)
        start, end = torch.empty(batch, dtype=torch.int64), torch.empty(batch, dtype=torch.int64)
        for b, (k, step) in enumerate(zip(budgets, t.tolist())):
            edges = _edges(self.step_loss, d, k, stages)
            j = int(np.searchsorted(edges, step, side="right")) - 1
            start[b], end[b] = int(edges[j]), int(edges[j + 1])
        return start, end


def order_agnostic_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                        position: torch.Tensor | None = None, family: str = RANDOM) -> ObjectiveResult:
    """x: (B, C, H, W) uint8 images (C = 3) or single planes (C = 1). One network call per image predicts all
    hidden dimensions. position: (B,) steps already taken (CPU); uniformly random when None."""
    b, c = x.shape[:2]
    d = x[0].numel()
    t, visible = random_visibility(b, tuple(x.shape[1:]), generator, position, family)  # drawn on the CPU, reproducibly
    t, visible = t.to(x.device), visible.to(x.device)
    out = net(network_inputs(*_shown(x, visible), fraction_level(t, d)))  # (B, 3, P, H, W)
    logp = net.output.log_prob(out, *_shown(x))[:, :c]
    hidden = ~visible
    ll = (logp * hidden).flatten(1).sum(dim=1)
    n_hidden = (d - t).to(ll.dtype)
    bpd = -(ll / n_hidden) / math.log(2)  # = -(D / (D - t)) * ll / (D ln 2)
    return ObjectiveResult(bpd=bpd, step=t, steps=d, step_bits=bpd)


def call_loss(net: ARDMNet, x: torch.Tensor, plans: CallPlans, generator: torch.Generator | None = None,
              position: torch.Tensor | None = None, family: str = RANDOM) -> ObjectiveResult:
    """One coder's call per image (``CallPlans``); bpd = mean bits of the steps it predicts. x: colour images or
    single planes, as for ``order_agnostic_loss``. position: (B,) a step inside the call (CPU); uniformly random
    when None."""
    b, c, shape, d = x.shape[0], x.shape[1], tuple(x.shape[1:]), x[0].numel()
    start, end = plans.draw(b, d, generator, position)
    ranks = order_ranks(b, shape, generator, family)
    visible = ranks < start.view(-1, 1, 1, 1)
    target = visible.logical_not() & (ranks < end.view(-1, 1, 1, 1))
    start, end, visible, target = start.to(x.device), end.to(x.device), visible.to(x.device), target.to(x.device)
    out = net(network_inputs(*_shown(x, visible), fraction_level(start, d)))
    ll = (net.output.log_prob(out, *_shown(x))[:, :c] * target).flatten(1).sum(dim=1)
    bpd = -(ll / (end - start).to(ll.dtype)) / math.log(2)
    return ObjectiveResult(bpd=bpd, step=start, steps=d, step_bits=bpd)


def upscale_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                 position: torch.Tensor | None = None, family: str = RANDOM) -> ObjectiveResult:
    """A random stage s and step t: digits up to s known for the first t dimensions of an order (``order_ranks``),
    up to s - 1 for the rest; the loss is the next digit of the rest. S stages make S times the bits.
    x: colour images or single planes, as for ``order_agnostic_loss``.
    position: (B,) steps s * D + t already taken (CPU); uniformly random when None."""
    digits = Digits(net.config.branching)
    b, stages, d = x.shape[0], digits.stages, x[0].numel()
    if position is None:
        stage, t = torch.randint(0, stages, (b,), generator=generator), None
    else:
        stage, t = position // d, position % d
    t, upgraded = random_visibility(b, tuple(x.shape[1:]), generator, t, family)
    stage, t, upgraded = stage.to(x.device), t.to(x.device), upgraded.to(x.device)
    position = stage * d + t
    ll = _next_digit_ll(net, digits, x, stage, upgraded, ~upgraded, position)
    step_bits = -(ll / (d - t).to(ll.dtype)) / math.log(2)
    return ObjectiveResult(bpd=stages * step_bits, step=position, steps=stages * d, step_bits=step_bits)


def _next_digit_ll(net: ARDMNet, digits: Digits, x: torch.Tensor, stage: torch.Tensor, upgraded: torch.Tensor,
                   scored: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """(B,) log-likelihood of digit `stage` of the `scored` dimensions, the `upgraded` ones showing stage + 1
    digits and the rest `stage`, after `position` steps of all stages (UpscaleARDM.condition_batch's view)."""
    c, d = x.shape[1], x[0].numel()
    x = x.to(torch.int64)
    s = stage.view(-1, 1, 1, 1)
    k = s + upgraded.to(torch.int64)  # digits known per dimension
    lo, hi = digits.interval(x, k)
    out = net(interval_inputs(*_shown(lo, hi, digits.level(k)), fraction_level(position, digits.stages * d)))
    logp = (net.output.log_prob_interval(out, *_shown(*digits.interval(x, s + 1)))
            - net.output.log_prob_interval(out, *_shown(*digits.interval(x, s))))[:, :c]
    return (logp * scored).flatten(1).sum(dim=1)


def upscale_call_loss(net: ARDMNet, x: torch.Tensor, plans: CallPlans, generator: torch.Generator | None = None,
                      position: torch.Tensor | None = None, family: str = RANDOM) -> ObjectiveResult:
    """One coder's call of a depth-upscaling model per image: in stage s, the dimensions before the call have
    s + 1 digits known, the others s, and the loss is digit s of the call's own dimensions, as
    UpscaleARDM.condition_batch shows and scores them; S stages make S times the bits. x: as for
    ``order_agnostic_loss``. position: (B,) a step s * D + t inside the call (CPU); uniformly random when None."""
    digits = Digits(net.config.branching)
    b, shape, d, stages = x.shape[0], tuple(x.shape[1:]), x[0].numel(), digits.stages
    start, end = plans.draw(b, d, generator, position, stages)
    stage = start // d
    first, last = start - stage * d, end - stage * d  # the call's steps within its stage
    ranks = order_ranks(b, shape, generator, family)
    upgraded = ranks < first.view(-1, 1, 1, 1)
    target = upgraded.logical_not() & (ranks < last.view(-1, 1, 1, 1))
    stage, start, upgraded, target = stage.to(x.device), start.to(x.device), upgraded.to(x.device), target.to(x.device)
    ll = _next_digit_ll(net, digits, x, stage, upgraded, target, start)
    step_bits = -(ll / (last - first).to(x.device, ll.dtype)) / math.log(2)
    return ObjectiveResult(bpd=stages * step_bits, step=start, steps=stages * d, step_bits=step_bits)


def training_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                  position: torch.Tensor | None = None, family: str = RANDOM,
                  plans: CallPlans | None = None) -> ObjectiveResult:
    """The objective of the net's model: order-agnostic, or upscaling when its branching is below 256;
    over uniformly random orders, or the variants of one order family (orders.py); or the coder's calls."""
    if plans is not None:
        loss = call_loss if net.config.branching == 256 else upscale_call_loss
        return loss(net, x, plans, generator, position, family)
    if net.config.branching == 256:
        return order_agnostic_loss(net, x, generator, position, family)
    return upscale_loss(net, x, generator, position, family)
