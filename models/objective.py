"""ARDM training objectives (Hoogeboom et al. 2021): order-agnostic (Sec. 3) and depth-upscaling (Sec. 3.2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .ardm_net import ARDMNet, fraction_level, interval_inputs, network_inputs
from .upscale import Digits


@dataclass
class ObjectiveResult:
    bpd: torch.Tensor  # (B,) unbiased estimate of -log2 p(x) / D per image
    step: torch.Tensor  # (B,) generation steps already taken, out of `steps`
    steps: int
    step_bits: torch.Tensor  # (B,) mean bits per dimension generated at that step: the paper's L_t


def random_visibility(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None = None,
                      t: torch.Tensor | None = None):
    """t ~ U{0..D-1} (unless given) and a uniformly random order per example; visible = first t dimensions of it."""
    d = shape[0] * shape[1] * shape[2]
    if t is None:
        t = torch.randint(0, d, (batch,), generator=generator)
    ranks = torch.rand(batch, d, generator=generator).argsort(dim=1).argsort(dim=1)
    visible = (ranks < t[:, None]).view(batch, *shape)
    return t, visible


def order_agnostic_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                        position: torch.Tensor | None = None) -> ObjectiveResult:
    """x: (B, 3, H, W) uint8 images. One network call per image predicts all hidden dimensions.
    position: (B,) steps already taken (CPU); uniformly random when None."""
    b = x.shape[0]
    d = x[0].numel()
    t, visible = random_visibility(b, tuple(x.shape[1:]), generator, position)  # drawn on the CPU, reproducibly
    t, visible = t.to(x.device), visible.to(x.device)
    out = net(network_inputs(x, visible, fraction_level(t, d)))  # (B, C, P, H, W)
    logp = net.output.log_prob(out, x)
    hidden = ~visible
    ll = (logp * hidden).flatten(1).sum(dim=1)
    n_hidden = (d - t).to(ll.dtype)
    bpd = -(ll / n_hidden) / math.log(2)  # = -(D / (D - t)) * ll / (D ln 2)
    return ObjectiveResult(bpd=bpd, step=t, steps=d, step_bits=bpd)


def upscale_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                 position: torch.Tensor | None = None) -> ObjectiveResult:
    """A random stage s and step t: digits up to s known for the first t dimensions of a random order,
    up to s - 1 for the rest; the loss is the next digit of the rest. S stages make S times the bits.
    position: (B,) steps s * D + t already taken (CPU); uniformly random when None."""
    digits = Digits(net.config.branching)
    b, stages, d = x.shape[0], digits.stages, x[0].numel()
    if position is None:
        stage, t = torch.randint(0, stages, (b,), generator=generator), None
    else:
        stage, t = position // d, position % d
    t, upgraded = random_visibility(b, tuple(x.shape[1:]), generator, t)
    stage, t, upgraded = stage.to(x.device), t.to(x.device), upgraded.to(x.device)
    x = x.to(torch.int64)
    k = stage.view(-1, 1, 1, 1) + upgraded.to(torch.int64)  # digits known per dimension
    lo, hi = digits.interval(x, k)
    position = stage * d + t
    out = net(interval_inputs(lo, hi, digits.level(k), fraction_level(position, stages * d)))
    s = stage.view(-1, 1, 1, 1)
    logp = net.output.log_prob_interval(out, *digits.interval(x, s + 1)) \
        - net.output.log_prob_interval(out, *digits.interval(x, s))
    ll = (logp * ~upgraded).flatten(1).sum(dim=1)
    step_bits = -(ll / (d - t).to(ll.dtype)) / math.log(2)
    return ObjectiveResult(bpd=stages * step_bits, step=position, steps=stages * d, step_bits=step_bits)


def training_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None,
                  position: torch.Tensor | None = None) -> ObjectiveResult:
    """The objective of the net's model: order-agnostic, or upscaling when its branching is below 256."""
    if net.config.branching == 256:
        return order_agnostic_loss(net, x, generator, position)
    return upscale_loss(net, x, generator, position)
