"""The budget planner: optimal against brute force, integer-exact, and scaled to any image size."""

import itertools

import numpy as np
import pytest

from ardmzip.models.planner import (GRID, integer_step_loss, optimal_edges, plan, plan_cost, plan_stages,
                                    share_budget)


def brute_force(loss, k):
    n = len(loss)
    return min(plan_cost((0, *inner, n), loss) for inner in itertools.combinations(range(1, n), k - 1))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_dynamic_program_matches_brute_force(seed, k):
    rng = np.random.default_rng(seed)
    loss = integer_step_loss(np.sort(rng.random(11) * 8)[::-1] + rng.random(11) * 0.5)
    edges = optimal_edges(loss, k)
    assert edges[0] == 0 and edges[-1] == len(loss) and len(edges) == k + 1
    assert all(a < b for a, b in zip(edges, edges[1:]))
    assert plan_cost(edges, loss) == brute_force(loss, k)


def test_step_loss_is_pooled_into_a_nonincreasing_integer_sequence():
    loss = integer_step_loss([5.0, 4.0, 4.5, 3.0, 3.2, 3.1, 1.0])
    assert loss == (50000, 42500, 42500, 31000, 31000, 31000, 10000)
    assert integer_step_loss([2.0, 3.0]) == (25000, 25000)


def test_plan_beats_even_splits_under_its_own_loss():
    step_loss = np.linspace(8, 3, 256) ** 2
    loss = integer_step_loss(step_loss)
    grid_loss = tuple(loss[(j * len(loss)) // GRID] for j in range(GRID))
    even = tuple((np.arange(33) * GRID) // 32)
    assert plan_cost(optimal_edges(grid_loss, 32), grid_loss) < plan_cost(even, grid_loss)


@pytest.mark.parametrize("dims,budget", [(3072, 10), (3072, 500), (768 * 512 * 3, 64), (7, 3), (7, 7), (7, 100),
                                         (600, 599), (100_000, 10_000)])
def test_plan_scales_to_any_size(dims, budget):
    edges = plan(np.linspace(7, 3, 64), dims, budget)
    assert edges[0] == 0 and edges[-1] == dims
    assert (np.diff(edges) >= 1).all()
    assert len(edges) - 1 == (dims if budget >= dims else min(budget, dims, GRID))


def test_plan_is_the_same_fraction_plan_at_every_size():
    small, large = plan(np.linspace(7, 3, 64), GRID, 20), plan(np.linspace(7, 3, 64), 4 * GRID, 20)
    assert (large == 4 * small).all()


@pytest.mark.parametrize("seed", range(4))
def test_one_dynamic_program_answers_every_smaller_count_of_calls(seed):
    rng = np.random.default_rng(seed)
    loss = integer_step_loss(np.sort(rng.random(10) * 8)[::-1])
    for k in range(1, 6):
        edges = optimal_edges(loss, 5, calls=k)
        assert len(edges) == k + 1 and plan_cost(edges, loss) == brute_force(loss, k)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("budget", [3, 4, 6, 9, 40])
def test_budget_shares_between_stages_match_brute_force(seed, budget):
    rng = np.random.default_rng(seed)
    costs = [np.sort(rng.integers(0, 1000, int(n)))[::-1].tolist() for n in rng.integers(1, 6, 3)]
    shares = share_budget(costs, budget)
    usable = max(3, min(budget, sum(map(len, costs))))
    assert sum(shares) == usable and all(1 <= k <= len(c) for k, c in zip(shares, costs))
    best = min(sum(c[k - 1] for c, k in zip(costs, ks))
               for ks in itertools.product(*[range(1, len(c) + 1) for c in costs]) if sum(ks) == usable)
    assert sum(c[k - 1] for c, k in zip(costs, shares)) == best


def test_a_stage_whose_loss_falls_steeply_gets_more_calls_than_a_flat_one():
    step_loss = np.concatenate([np.linspace(3, 0.2, 64), np.full(64, 1.8)])
    steep, flat = plan_stages(step_loss, 2, 3072, 20)
    assert len(steep) - 1 > len(flat) - 1 >= 1 and (len(steep) - 1) + (len(flat) - 1) == 20
    assert steep[0] == flat[0] == 0 and steep[-1] == flat[-1] == 3072


@pytest.mark.parametrize("dims,budget", [(7, 3), (7, 8), (7, 28), (7, 100), (3072, 2), (3072, 4 * GRID + 5)])
def test_stage_plans_cover_every_step_at_any_budget(dims, budget):
    stages = plan_stages(np.linspace(7, 1, 64), 4, dims, budget)
    calls = sum(len(e) - 1 for e in stages)
    assert calls == (4 * dims if budget >= 4 * dims else min(max(budget, 4), 4 * min(dims, GRID)))
    for edges in stages:
        assert edges[0] == 0 and edges[-1] == dims and (np.diff(edges) >= 1).all()
