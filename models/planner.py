"""The parallel generation budget: which generation steps share one network call (ARDM paper, Sec. 4).

Generating dimensions t..u-1 in one call, all conditioned on the first t, costs about (u - t) * L_t
bits, where L_t is the model's loss per dimension with t dimensions known. A dynamic program picks
the K calls that minimize the total. It plans on a grid of fractions of the dimensions and scales
the plan to an image's size, so one plan serves every image size. Everything is integer arithmetic,
so encoder and decoder derive the same plan on any machine.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

GRID = 512  # fraction cells the planner resolves; budgets beyond it (short of one call per dimension) use GRID calls
COST_UNIT = 10_000  # L_t in 1/10000 bit, as integers


def integer_step_loss(step_loss_bits: Sequence[float]) -> tuple[int, ...]:
    """Loss values as integers, made nonincreasing (more context never costs more) by pooling."""
    blocks: list[list[int]] = []  # [sum, count] of pooled adjacent values
    for v in step_loss_bits:
        blocks.append([int(round(float(v) * COST_UNIT)), 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] < blocks[-1][0] * blocks[-2][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    return tuple(s // c for s, c in blocks for _ in range(c))


def plan_cost(edges: Sequence[int], loss: Sequence[int]) -> int:
    return sum((hi - lo) * loss[lo] for lo, hi in zip(edges[:-1], edges[1:]))


@lru_cache(maxsize=256)
def optimal_edges(loss: tuple[int, ...], budget: int) -> tuple[int, ...]:
    """Edges 0 = e_0 < ... < e_k = n (k = min(budget, n)) minimizing sum (e_i+1 - e_i) * loss[e_i].

    Exact DP over the previous edge s for every end t: cost_j(t) = min_s cost_j-1(s) + (t - s) L_s,
    one vectorized (n+1) x (n+1) minimum per call; ties go to the earliest s.
    """
    n = len(loss)
    k = max(1, min(int(budget), n))
    big = np.int64(1) << 60  # unreachable; sums of two stay far from int64 overflow
    L = np.asarray(loss, dtype=np.int64)
    t = np.arange(n + 1, dtype=np.int64)
    step = (t[:, None] - t[None, :n]) * L[None, :]  # (t, s): cost of generating s..t-1 from s
    step[t[:, None] <= t[None, :n]] = big
    cost = np.full(n + 1, big, dtype=np.int64)
    cost[0] = 0
    choice = np.zeros((k, n + 1), dtype=np.int32)
    for j in range(k):
        total = cost[None, :n] + step
        choice[j] = total.argmin(axis=1)
        cost = np.minimum(total[t, choice[j]], big)
    edges = [n]
    for j in range(k - 1, -1, -1):
        edges.append(int(choice[j, edges[-1]]))
    return tuple(reversed(edges))


def plan(step_loss_bits: Sequence[float], dims: int, budget: int) -> np.ndarray:
    """Left edges plus the end of each call's steps for an image of `dims` dimensions."""
    if budget >= dims:
        return np.arange(dims + 1, dtype=np.int64)
    grid = min(dims, GRID)
    bins = integer_step_loss(step_loss_bits)
    loss = tuple(bins[(j * len(bins)) // grid] for j in range(grid))
    edges = np.asarray(optimal_edges(loss, budget), dtype=np.int64)
    return (edges * dims) // grid
