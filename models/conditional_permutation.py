"""The conditional permutation of a denoising coupling: the K classes ordered by a net's scores, most likely first.

A value becomes its rank in that order. The order must be identical when encoding and decoding, so
the exact model ranks by integer scores (the integer nets' outputs) and breaks ties by the lower class
index: the order is then a function of those integers alone, on any machine. Training ranks by float
scores with the same tie rule, for the float bound only.
"""

from __future__ import annotations

import torch


def logit_keys(logits: torch.Tensor) -> torch.Tensor:
    """Sort keys (..., K) from integer logits (..., K): ascending keys are descending logits, ties by class."""
    k = logits.shape[-1]
    gap = logits.max(dim=-1, keepdim=True).values - logits
    return gap * k + torch.arange(k, device=logits.device)


def distance_keys(mean: torch.Tensor, classes: int, grid: int) -> torch.Tensor:
    """Sort keys (..., K) from integer means (...) in 1/grid of a class: nearest class first, ties by class.

    A discretized logistic's probability order, but for the tails that the end classes also hold.
    """
    v = torch.arange(classes, device=mean.device)
    return (grid * v - mean.unsqueeze(-1)).abs() * classes + v


def distance_ranks(mean: torch.Tensor, x: torch.Tensor, classes: int, grid: int) -> torch.Tensor:
    """``ranks(distance_keys(mean, classes, grid), x)`` without the (..., K) keys: the classes nearer the mean,
    plus the equally near class below x (the mirror image of x about the mean) if there is one.
    Training ranks a batch this way, thousands of values at once."""
    d = (grid * x - mean).abs()
    lo = (torch.div(mean - d, grid, rounding_mode="floor") + 1).clamp(min=0)
    hi = (-torch.div(-(mean + d), grid, rounding_mode="floor") - 1).clamp(max=classes - 1)
    mirror = 2 * mean - grid * x  # grid times the class as near as x on the other side
    tie = (mirror % grid == 0) & (mirror >= 0) & (mirror < grid * x)
    return (hi - lo + 1).clamp(min=0) + tie


def top_k(keys: torch.Tensor, k: int) -> torch.Tensor:
    """Only the k first classes are sorted; the others follow them in class order (the paper's k_sort)."""
    classes = keys.shape[-1]
    if k <= 0 or k >= classes:
        return keys
    kth = keys.sort(dim=-1).values[..., k - 1:k]
    rest = keys.max() + 1 + torch.arange(classes, device=keys.device)
    return torch.where(keys <= kth, keys, rest.to(keys.dtype))


def ranks(keys: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The rank of each value x (...) under its keys (..., K): classes with smaller keys, then equal keys
    of lower class index, come first."""
    kx = keys.gather(-1, x.long().unsqueeze(-1))
    v = torch.arange(keys.shape[-1], device=keys.device)
    before = (keys < kx) | ((keys == kx) & (v < x.long().unsqueeze(-1)))
    return before.sum(dim=-1)


def classes_at(keys: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The inverse of ``ranks`` for integer keys that differ within each row (as the key functions make them)."""
    order = keys.argsort(dim=-1)
    return order.gather(-1, y.long().unsqueeze(-1)).squeeze(-1)
