"""Training draws made for the whole batch at once are the coder's orders and calls, to the integer."""

import numpy as np
import pytest
import torch

from ardmzip.models.draws import (call_bounds, dispersed_ranks, family_ranks, order_ranks, padded_edges,
                                 random_ranks)
from ardmzip.models.objective import CallPlans, _edges
from ardmzip.models.orders import TRAINING_SEEDS, dispersed_order


def coder_ranks(seed: int, shape: tuple[int, int, int]) -> np.ndarray:
    """(C, H, W) steps of each dimension as the coder orders a flat (H, W, C) plane, one image at a time."""
    c, h, w = shape
    ranks = np.empty(h * w * c, dtype=np.int64)
    ranks[dispersed_order((h, w, c), seed)] = np.arange(h * w * c)
    return ranks.reshape(h, w, c).transpose(2, 0, 1)


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 32, 32), (3, 5, 6), (1, 7, 3), (3, 17, 33), (3, 64, 64),
                                   (1, 1, 1)])
def test_dispersed_ranks_are_the_coders_orders(shape):
    g = torch.Generator().manual_seed(sum(shape))
    seeds = torch.cat([torch.arange(0, 48), torch.randint(0, TRAINING_SEEDS, (80,), generator=g),
                       torch.tensor([TRAINING_SEEDS - 1])])
    ranks = dispersed_ranks(seeds, shape)
    assert ranks.shape == (len(seeds), *shape) and ranks.dtype == torch.int64
    for b, seed in enumerate(seeds.tolist()):
        assert np.array_equal(ranks[b].numpy(), coder_ranks(seed, shape)), seed


def test_dispersed_variants_beyond_the_training_seeds_are_refused():
    with pytest.raises(ValueError, match="below"):
        family_ranks("dispersed", torch.tensor([TRAINING_SEEDS * 3]), (3, 4, 4))


@pytest.mark.parametrize("family", ["random", "dispersed"])
def test_every_example_gets_a_permutation_of_its_dimensions(family):
    ranks = order_ranks(16, (3, 9, 11), torch.Generator().manual_seed(0), family)
    assert torch.equal(ranks.flatten(1).sort(dim=1).values, torch.arange(3 * 99).expand(16, -1))
    assert len({tuple(r.flatten().tolist()) for r in ranks}) == 16


def test_random_orders_are_uniform_over_positions():
    """Every dimension is equally likely to come first: the mean step of each is (D - 1) / 2."""
    ranks = random_ranks(4000, (1, 3, 3), torch.Generator().manual_seed(1)).flatten(1).double()
    assert (ranks.mean(dim=0) - 4.0).abs().max() < 0.15


def test_a_batched_search_finds_each_steps_call():
    plans = [np.array([0, 3, 7, 10]), np.array([0, 10]), np.array([0, 1, 2, 5, 9, 10])]
    table = padded_edges(plans)
    rows = torch.tensor([0, 1, 2, 0, 2, 2])
    steps = torch.tensor([0, 9, 4, 7, 9, 1])
    start, end = call_bounds(table, rows, steps)
    for b in range(len(rows)):
        edges = plans[int(rows[b])]
        j = int(np.searchsorted(edges, int(steps[b]), side="right")) - 1
        assert (int(start[b]), int(end[b])) == (edges[j], edges[j + 1])


@pytest.mark.parametrize("stages,d", [(1, 3072), (1, 40), (4, 30)])
def test_drawn_calls_are_planned_calls_at_the_drawn_budget(stages, d):
    """Each draw's (start, end) is one call of the plan at the budget the draw took, replayed one by one."""
    loss = tuple(float(v) for v in np.linspace(7.0, 3.0, 256))
    plans = CallPlans(loss, (3, 50))
    start, end = plans.draw(200, d, torch.Generator().manual_seed(5), stages=stages)
    replay = torch.Generator().manual_seed(5)
    u = torch.rand(200, generator=replay, dtype=torch.float64)
    budgets = torch.floor(3 * (50 / 3) ** u + 0.5).to(torch.int64).clamp(3, 50).tolist()
    t = torch.randint(0, stages * d, (200,), generator=replay).tolist()
    for b in range(200):
        edges = _edges(loss, d, budgets[b], stages)
        j = int(np.searchsorted(edges, t[b], side="right")) - 1
        assert (int(start[b]), int(end[b])) == (edges[j], edges[j + 1])
