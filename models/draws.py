"""What a training step draws (orders, call edges), vectorized over the batch on the generator's device.

A training step on a GPU must not wait for the CPU to build orders image by image: every function here
draws from a torch generator and computes on that generator's device, one tensor operation for the
whole batch. The orders are the coder's (orders.py) to the integer, as the tests check.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .orders import DISPERSED, RANDOM, TRAINING_SEEDS, _splitmix64


def device_of(generator: torch.Generator | None) -> torch.device:
    return torch.device("cpu") if generator is None else generator.device


def random_ranks(batch: int, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """(B, *shape) generation step of each dimension in a uniformly random order per example."""
    d = int(np.prod(shape))
    return torch.rand(batch, d, generator=generator, device=device_of(generator)).argsort(dim=1).argsort(dim=1) \
        .view(batch, *shape)


@lru_cache(maxsize=8)
def _flip_masks(device: torch.device) -> torch.Tensor:
    """(TRAINING_SEEDS // 8, 2) the coordinate xor masks orders._dither_rank derives from a variant's
    high bits, split into the two 32-bit halves it uses for y and x."""
    mask = _splitmix64(np.arange(TRAINING_SEEDS // 8, dtype=np.uint64))
    halves = np.stack([mask & np.uint64(0xFFFFFFFF), mask >> np.uint64(32)], axis=1).astype(np.int64)
    return torch.from_numpy(halves).to(device)


def _dither_ranks(height: int, width: int, variants: torch.Tensor) -> torch.Tensor:
    """(B, H*W) orders._dither_rank of each variant, all at once."""
    bits = max(1, (max(height, width) - 1).bit_length())
    side = 1 << bits
    pixel = torch.arange(height * width, device=variants.device)
    y, x = (pixel // width).expand(len(variants), -1), (pixel % width).expand(len(variants), -1)
    v = variants.view(-1, 1)
    swap = (v & 4) != 0
    y, x = torch.where(swap, x, y), torch.where(swap, y, x)
    y = torch.where((v & 1) != 0, side - 1 - y, y)
    x = torch.where((v & 2) != 0, side - 1 - x, x)
    masks = _flip_masks(variants.device)[v.squeeze(1) >> 3]
    flipped = v >= 8
    y = torch.where(flipped, y ^ (masks[:, :1] & (side - 1)), y)
    x = torch.where(flipped, x ^ (masks[:, 1:] & (side - 1)), x)
    value = torch.zeros_like(y)
    for k in range(bits):  # coordinate bit k weighs 4**(bits - 1 - k)
        yb, xb = (y >> k) & 1, (x >> k) & 1
        value |= (2 * (xb ^ yb) + yb) << (2 * (bits - 1 - k))
    if side * side == height * width:  # the values are the ranks already
        return value
    order = value.argsort(dim=1)  # distinct values: the stable order numpy takes
    return torch.empty_like(order).scatter_(1, order, pixel.expand(len(variants), -1).contiguous())


def dispersed_ranks(seeds: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, H, W) generation step of each dimension in the dispersed order variant seeds[b]
    (orders.dispersed_order over the flat (H, W, C) plane), on the seeds' device; seeds as ``family_ranks``
    checks them (unchecked here: a check reads the seeds back to the host, every step)."""
    channels, height, width = shape
    n = height * width
    seeds = seeds.to(torch.int64)
    rank = _dither_ranks(height, width, seeds % 8 + 8 * (seeds // (8 * channels)))  # (B, N)
    lead = (seeds // 8) % channels
    c = torch.arange(channels, device=seeds.device)
    shifts = ((c.view(1, -1) + lead.view(-1, 1)) % channels) * n // channels  # (B, C)
    # the coder sorts keys ((rank + shift) % N) * C + c, which number the dimensions 0..N*C-1: a key is its step
    steps = ((rank.unsqueeze(2) + shifts.unsqueeze(1)) % n) * channels + c  # (B, N, C)
    return steps.view(-1, height, width, channels).permute(0, 3, 1, 2)


def _check_vectorized(family: str) -> None:
    if family != DISPERSED:
        raise ValueError(f"no vectorized variants of the {family} family")


def family_ranks(family: str, seeds: torch.Tensor | list[int], shape: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, H, W) generation steps of the variants seeds[b] of an order family (dispersed; the random family's
    variants are hashes the coder sorts, drawn in training as uniformly random orders instead)."""
    _check_vectorized(family)
    seeds = torch.as_tensor(seeds, dtype=torch.int64)
    if len(seeds) and int(seeds.max()) >= TRAINING_SEEDS // 8 * 8 * shape[0]:
        raise ValueError(f"dispersed variants for training are below {TRAINING_SEEDS}")
    return dispersed_ranks(seeds, shape)


def order_ranks(batch: int, shape: tuple[int, int, int], generator: torch.Generator | None,
                family: str) -> torch.Tensor:
    """(B, C, H, W) generation steps of a uniformly random order per example, or of a random variant of `family`."""
    if family == RANDOM:
        return random_ranks(batch, shape, generator)
    _check_vectorized(family)
    return dispersed_ranks(torch.randint(0, TRAINING_SEEDS, (batch,), generator=generator,
                                         device=device_of(generator)), shape)


def call_bounds(edges: torch.Tensor, rows: torch.Tensor, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(start, end) of the call holding steps[b] in the plan edges[rows[b]] (edges: one plan per row, each padded
    with its last edge), found by one batched binary search."""
    table = edges[rows]
    j = torch.searchsorted(table, steps.view(-1, 1), right=True) - 1
    return table.gather(1, j).squeeze(1), table.gather(1, j + 1).squeeze(1)


def padded_edges(plans: list[np.ndarray]) -> torch.Tensor:
    """Plans of different lengths as one (len(plans), longest) int64 table, each padded with its last edge."""
    width = max(len(p) for p in plans)
    return torch.from_numpy(np.stack([np.pad(p, (0, width - len(p)), mode="edge") for p in plans]).astype(np.int64))
