"""The order-agnostic ARDM training objective (Hoogeboom et al. 2021, Sec. 3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .ardm_net import ARDMNet, fraction_level, network_inputs


@dataclass
class ObjectiveResult:
    # (B,) unbiased estimate of -log2 p(x) / D per image; it is also the mean bits per not-yet-generated
    # dimension at step t, the paper's L_t
    bpd: torch.Tensor
    t: torch.Tensor  # (B,) number of visible dimensions


def random_visibility(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None = None):
    """t ~ U{0..D-1} and a uniformly random order per example; visible = first t dimensions of it."""
    d = shape[0] * shape[1] * shape[2]
    t = torch.randint(0, d, (batch,), generator=generator)
    ranks = torch.rand(batch, d, generator=generator).argsort(dim=1).argsort(dim=1)
    visible = (ranks < t[:, None]).view(batch, *shape)
    return t, visible


def order_agnostic_loss(net: ARDMNet, x: torch.Tensor, generator: torch.Generator | None = None) -> ObjectiveResult:
    """x: (B, 3, H, W) uint8 images. One network call per image predicts all hidden dimensions."""
    b = x.shape[0]
    d = x[0].numel()
    t, visible = random_visibility(b, tuple(x.shape[1:]), generator)  # drawn on the CPU, reproducibly
    t, visible = t.to(x.device), visible.to(x.device)
    out = net(network_inputs(x, visible, fraction_level(t, d)))  # (B, C, P, H, W)
    logp = net.output.log_prob(out, x)
    hidden = ~visible
    ll = (logp * hidden).flatten(1).sum(dim=1)
    n_hidden = (d - t).to(ll.dtype)
    bpd = -(ll / n_hidden) / math.log(2)  # = -(D / (D - t)) * ll / (D ln 2)
    return ObjectiveResult(bpd=bpd, t=t)
