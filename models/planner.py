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
def _layers(loss: tuple[int, ...], budget: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The DP: cost_j(t) = min_s cost_j-1(s) + (t - s) L_s, one vectorized (n+1) x (n+1) minimum per
    call; ties go to the earliest s. Returns each layer's choices and the best cost with j calls."""
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
    best = []
    for j in range(k):
        total = cost[None, :n] + step
        choice[j] = total.argmin(axis=1)
        cost = np.minimum(total[t, choice[j]], big)
        best.append(int(cost[n]))
    return choice, tuple(best)


def optimal_edges(loss: tuple[int, ...], budget: int, calls: int | None = None) -> tuple[int, ...]:
    """Edges 0 = e_0 < ... < e_k = n (k = min(budget, n), or `calls` <= k) minimizing
    sum (e_i+1 - e_i) * loss[e_i]; one DP up to `budget` answers every smaller count."""
    choice, _ = _layers(loss, budget)
    edges = [len(loss)]
    for j in range((calls or len(choice)) - 1, -1, -1):
        edges.append(int(choice[j, edges[-1]]))
    return tuple(reversed(edges))


def share_budget(costs: Sequence[Sequence[int]], budget: int) -> list[int]:
    """Calls per stage minimizing the summed cost, where costs[s][j - 1] is stage s's cost with j calls.

    Every stage gets at least one call and at most len(costs[s]); ties go to the earlier stages' smaller
    shares, so the split is the same on every machine.
    """
    caps = [len(c) for c in costs]
    budget = max(len(costs), min(int(budget), sum(caps)))
    big = np.int64(1) << 60
    best = np.full(budget + 1, big, dtype=np.int64)  # best[b]: stages so far using b calls
    best[0] = 0
    picks = []
    for c in costs:
        c = np.asarray(c, dtype=np.int64)
        nxt = np.full(budget + 1, big, dtype=np.int64)
        pick = np.zeros(budget + 1, dtype=np.int64)
        for j in range(1, min(len(c), budget) + 1):
            cand = np.full(budget + 1, big, dtype=np.int64)
            cand[j:] = np.minimum(best[:budget + 1 - j] + c[j - 1], big)
            better = cand < nxt
            nxt[better], pick[better] = cand[better], j
        best = nxt
        picks.append(pick)
    shares, b = [], budget
    for pick in reversed(picks):
        shares.append(int(pick[b]))
        b -= shares[-1]
    return shares[::-1]


def plan(step_loss_bits: Sequence[float], dims: int, budget: int) -> np.ndarray:
    """Left edges plus the end of each call's steps for an image of `dims` dimensions."""
    if budget >= dims:
        return np.arange(dims + 1, dtype=np.int64)
    grid = min(dims, GRID)
    edges = np.asarray(optimal_edges(_grid_loss(step_loss_bits, grid), budget), dtype=np.int64)
    return (edges * dims) // grid


def plan_stages(step_loss_bits: Sequence[float], stages: int, dims: int, budget: int) -> list[np.ndarray]:
    """Each stage's call edges when `stages` successive stages of `dims` steps each share `budget` calls.

    step_loss_bits covers all stages in order. The shares come from every stage's DP cost at every
    count of calls: a stage whose loss falls steeply with context gains more from calls than a flat one.
    """
    n = len(step_loss_bits)
    losses = [tuple(step_loss_bits[s * n // stages:(s + 1) * n // stages]) for s in range(stages)]
    if budget >= stages * dims:
        return [np.arange(dims + 1, dtype=np.int64) for _ in losses]
    grid = min(dims, GRID)
    grid_losses = [_grid_loss(loss, grid) for loss in losses]
    shares = share_budget([_layers(loss, budget)[1] for loss in grid_losses], budget)
    return [np.asarray(optimal_edges(loss, budget, k), dtype=np.int64) * dims // grid
            for loss, k in zip(grid_losses, shares)]


def _grid_loss(step_loss_bits: Sequence[float], grid: int) -> tuple[int, ...]:
    bins = integer_step_loss(step_loss_bits)
    return tuple(bins[(j * len(bins)) // grid] for j in range(grid))
