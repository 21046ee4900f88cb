"""ARDM training objectives (Hoogeboom et al. 2021): order-agnostic (Sec. 3) and depth-upscaling (Sec. 3.2),
and the calls of planned budgets in one order family."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from .ardm_net import DATA_CHANNELS, ARDMNet, fraction_level, interval_inputs, network_inputs
from .data import grey_planes
from . import draws
from .orders import RANDOM
from .planner import plan, plan_stages
from .upscale import Digits


@dataclass
class ObjectiveResult:
    bpd: torch.Tensor  # (B,) unbiased estimate of -log2 p(x) / D per image
    step: torch.Tensor  # (B,) generation steps already taken, out of `steps`
    steps: int
    step_bits: torch.Tensor  # (B,) mean bits per dimension generated at that step (in random orders the paper's L_t)


@dataclass
class Prepared:
    """A batch's draws made and its network inputs built: one network call, then `score` of its outputs."""

    inputs: torch.Tensor
    score: Callable[[torch.Tensor], ObjectiveResult]


def random_visibility(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None = None,
                      t: torch.Tensor | None = None, family: str = RANDOM):
    """t ~ U{0..D-1} (unless given) and an order per example (``draws.order_ranks``); visible = first t
    dimensions of it. Drawn on the generator's device."""
    d = shape[0] * shape[1] * shape[2]
    device = draws.device_of(generator)
    t = torch.randint(0, d, (batch,), generator=generator, device=device) if t is None else t.to(device)
    visible = draws.order_ranks(batch, shape, generator, family) < t.view(-1, 1, 1, 1)
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
        dimension and stage. Steps count through the stages of a depth-upscaling model (stage = start // d).
        Drawn on the generator's device, from every budget's plan held there as one table."""
        lo, hi = self.budgets
        device = draws.device_of(generator)
        u = torch.rand(batch, generator=generator, dtype=torch.float64, device=device)
        budgets = torch.floor(lo * (hi / lo) ** u + 0.5).to(torch.int64).clamp(lo, hi)
        if t is None:
            t = torch.randint(0, stages * d, (batch,), generator=generator, device=device)
        return draws.call_bounds(_edge_table(self.step_loss, d, self.budgets, stages, device), budgets - lo,
                                 t.to(device))


@lru_cache(maxsize=64)
def _edge_table(step_loss: tuple[float, ...], d: int, budgets: tuple[int, int], stages: int,
                device: torch.device) -> torch.Tensor:
    """Every budget's call edges (``_edges``), budget lo first, as one padded table on `device`."""
    lo, hi = budgets
    return draws.padded_edges([_edges(step_loss, d, k, stages) for k in range(lo, hi + 1)]).to(device)


def _rows(rows: slice | None, *tensors: torch.Tensor) -> list[torch.Tensor]:
    return list(tensors) if rows is None else [t[rows] for t in tensors]


def prepare_order_agnostic(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                           position: torch.Tensor | None = None, family: str = RANDOM,
                           rows: slice | None = None) -> Prepared:
    """One network call per image predicts all hidden dimensions. x: (B, C, H, W) uint8 images (C = 3) or single
    planes (C = 1). position: (B,) steps already taken; uniformly random when None. rows: the examples kept after
    drawing for the whole batch (a process's shard of a distributed batch)."""
    c, d = x.shape[1], x[0].numel()
    t, visible = random_visibility(len(x), tuple(x.shape[1:]), generator, position, family)
    x, t, visible = _rows(rows, x, t.to(x.device), visible.to(x.device))

    def score(out: torch.Tensor) -> ObjectiveResult:
        logp = net.output.log_prob(out, *_shown(x))[:, :c]
        ll = (logp * visible.logical_not()).flatten(1).sum(dim=1)
        bpd = -(ll / (d - t).to(ll.dtype)) / math.log(2)  # = -(D / (D - t)) * ll / (D ln 2)
        return ObjectiveResult(bpd=bpd, step=t, steps=d, step_bits=bpd)

    return Prepared(network_inputs(*_shown(x, visible), fraction_level(t, d)), score)


def prepare_call(net: ARDMNet, x: torch.Tensor, plans: CallPlans, generator: torch.Generator | None = None,
                 position: torch.Tensor | None = None, family: str = RANDOM, rows: slice | None = None) -> Prepared:
    """One coder's call per image (``CallPlans``); bpd = mean bits of the steps it predicts. x, rows: as for
    ``prepare_order_agnostic``. position: (B,) a step inside the call; uniformly random when None."""
    b, c, shape, d = x.shape[0], x.shape[1], tuple(x.shape[1:]), x[0].numel()
    start, end = plans.draw(b, d, generator, position)
    ranks = draws.order_ranks(b, shape, generator, family)
    visible = ranks < start.view(-1, 1, 1, 1)
    target = visible.logical_not() & (ranks < end.view(-1, 1, 1, 1))
    x, start, end, visible, target = _rows(rows, x, *(v.to(x.device) for v in (start, end, visible, target)))

    def score(out: torch.Tensor) -> ObjectiveResult:
        ll = (net.output.log_prob(out, *_shown(x))[:, :c] * target).flatten(1).sum(dim=1)
        bpd = -(ll / (end - start).to(ll.dtype)) / math.log(2)
        return ObjectiveResult(bpd=bpd, step=start, steps=d, step_bits=bpd)

    return Prepared(network_inputs(*_shown(x, visible), fraction_level(start, d)), score)


def prepare_upscale(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                    position: torch.Tensor | None = None, family: str = RANDOM, rows: slice | None = None) -> Prepared:
    """A random stage s and step t: digits up to s known for the first t dimensions of an order
    (``draws.order_ranks``), up to s - 1 for the rest; the loss is the next digit of the rest. S stages make S
    times the bits. x, rows: as for ``prepare_order_agnostic``. position: (B,) steps s * D + t already taken;
    uniformly random when None."""
    digits = Digits(net.config.branching)
    b, stages, d = x.shape[0], digits.stages, x[0].numel()
    device = draws.device_of(generator)
    if position is None:
        stage, t = torch.randint(0, stages, (b,), generator=generator, device=device), None
    else:
        stage, t = position // d, position % d
    t, upgraded = random_visibility(b, tuple(x.shape[1:]), generator, t, family)
    x, stage, t, upgraded = _rows(rows, x, *(v.to(x.device) for v in (stage, t, upgraded)))
    position = stage * d + t
    inputs, next_digit_ll = _next_digit(net, digits, x, stage, upgraded, ~upgraded, position)

    def score(out: torch.Tensor) -> ObjectiveResult:
        step_bits = -(next_digit_ll(out) / (d - t).to(out.dtype)) / math.log(2)
        return ObjectiveResult(bpd=stages * step_bits, step=position, steps=stages * d, step_bits=step_bits)

    return Prepared(inputs, score)


def _next_digit(net: ARDMNet, digits: Digits, x: torch.Tensor, stage: torch.Tensor, upgraded: torch.Tensor,
                scored: torch.Tensor, position: torch.Tensor):
    """The network inputs when the `upgraded` dimensions show stage + 1 digits and the rest `stage`, after
    `position` steps of all stages (UpscaleARDM.condition_batch's view), and the (B,) log-likelihood of digit
    `stage` of the `scored` dimensions from the network's outputs on them."""
    c, d = x.shape[1], x[0].numel()
    x = x.to(torch.int64)
    s = stage.view(-1, 1, 1, 1)
    k = s + upgraded.to(torch.int64)  # digits known per dimension
    lo, hi = digits.interval(x, k)
    inputs = interval_inputs(*_shown(lo, hi, digits.level(k)), fraction_level(position, digits.stages * d))

    def next_digit_ll(out: torch.Tensor) -> torch.Tensor:
        logp = (net.output.log_prob_interval(out, *_shown(*digits.interval(x, s + 1)))
                - net.output.log_prob_interval(out, *_shown(*digits.interval(x, s))))[:, :c]
        return (logp * scored).flatten(1).sum(dim=1)

    return inputs, next_digit_ll


def prepare_upscale_call(net: ARDMNet, x: torch.Tensor, plans: CallPlans, generator: torch.Generator | None = None,
                         position: torch.Tensor | None = None, family: str = RANDOM,
                         rows: slice | None = None) -> Prepared:
    """One coder's call of a depth-upscaling model per image: in stage s, the dimensions before the call have
    s + 1 digits known, the others s, and the loss is digit s of the call's own dimensions, as
    UpscaleARDM.condition_batch shows and scores them; S stages make S times the bits. x, rows: as for
    ``prepare_order_agnostic``. position: (B,) a step s * D + t inside the call; uniformly random when None."""
    digits = Digits(net.config.branching)
    b, shape, d, stages = x.shape[0], tuple(x.shape[1:]), x[0].numel(), digits.stages
    start, end = plans.draw(b, d, generator, position, stages)
    stage = start // d
    first, last = start - stage * d, end - stage * d  # the call's steps within its stage
    ranks = draws.order_ranks(b, shape, generator, family)
    upgraded = ranks < first.view(-1, 1, 1, 1)
    target = upgraded.logical_not() & (ranks < last.view(-1, 1, 1, 1))
    x, stage, start, first, last, upgraded, target = _rows(
        rows, x, *(v.to(x.device) for v in (stage, start, first, last, upgraded, target)))
    inputs, next_digit_ll = _next_digit(net, digits, x, stage, upgraded, target, start)

    def score(out: torch.Tensor) -> ObjectiveResult:
        step_bits = -(next_digit_ll(out) / (last - first).to(out.dtype)) / math.log(2)
        return ObjectiveResult(bpd=stages * step_bits, step=start, steps=stages * d, step_bits=step_bits)

    return Prepared(inputs, score)


def prepare(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
            position: torch.Tensor | None = None, family: str = RANDOM, plans: CallPlans | None = None,
            rows: slice | None = None) -> Prepared:
    """The objective of the net's model: order-agnostic, or upscaling when its branching is below 256;
    over uniformly random orders, or the variants of one order family (orders.py); or the coder's calls."""
    upscaling = net.config.branching != 256
    if plans is not None:
        return (prepare_upscale_call if upscaling else prepare_call)(net, x, plans, generator, position, family, rows)
    return (prepare_upscale if upscaling else prepare_order_agnostic)(net, x, generator, position, family, rows)


def training_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                  position: torch.Tensor | None = None, family: str = RANDOM,
                  plans: CallPlans | None = None) -> ObjectiveResult:
    """``prepare``'s objective for one batch, its network call made."""
    p = prepare(net, x, generator, position, family, plans)
    return p.score(net(p.inputs))


def parts_loss(net: ARDMNet, parts: list[torch.Tensor], generator: torch.Generator | None, family: str = RANDOM,
               plans: CallPlans | None = None, shard: slice | None = None,
               call: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[ObjectiveResult]:
    """The objective of several parts of one batch (colour images, grey planes) in a single network call: each
    part's draws over the whole part, then the examples of `shard` (numbered through the parts in order) kept.
    call: what runs the network (a distributed wrapper of `net`); `net` itself by default."""
    prepared, offset = [], 0
    for part in parts:
        rows = None if shard is None else slice(min(max(shard.start - offset, 0), len(part)),
                                                min(max(shard.stop - offset, 0), len(part)))
        prepared.append(prepare(net, part, generator, family=family, plans=plans, rows=rows))
        offset += len(part)
    out = (call or net)(torch.cat([p.inputs for p in prepared]))
    results, at = [], 0
    for p in prepared:
        results.append(p.score(out[at:at + len(p.inputs)]))
        at += len(p.inputs)
    return results
