"""Training visibility: which dimensions a training step sees, in random orders or one family's variants."""

import math

import numpy as np
import pytest
import torch

from ardmzip.codecs.order_latent import VARIANTS
from ardmzip.models.ardm import channels_first
from ardmzip.models.ardm_net import fraction_level, interval_inputs, network_inputs
from ardmzip.models.data import grey_planes
from ardmzip.models.draws import family_ranks
from ardmzip.models.objective import CallPlans, colour_and_grey, random_visibility, training_loss
from ardmzip.models.orders import TRAINING_SEEDS, dispersed_order
from ardmzip.models.planner import plan
from ardmzip.models.upscale import Digits, UpscaleARDM
from tests.tiny_model import tiny_float_net

SHAPE = (3, 5, 6)  # C, H, W as the network sees it


@pytest.mark.parametrize("seed", [0, 5, 17, 40_000])
def test_family_ranks_follow_the_coders_order(seed):
    """Dimension (c, y, x) is generated at the step where the coder's flat (H, W, C) order names it."""
    order = dispersed_order((5, 6, 3), seed)
    ranks = family_ranks("dispersed", [seed], SHAPE)[0]
    for step in (0, 1, 7, 45, 89):
        c, y, x = [int(v) for v in (ranks == step).nonzero()[0]]
        assert order[step] == (y * 6 + x) * 3 + c


@pytest.mark.parametrize("family", ["random", "dispersed"])
def test_visible_dimensions_are_a_prefix_of_each_examples_order(family):
    g = torch.Generator().manual_seed(3)
    t, visible = random_visibility(6, SHAPE, g, family=family)
    assert visible.shape == (6, *SHAPE)
    assert torch.equal(visible.flatten(1).sum(dim=1), t)
    replay = torch.Generator().manual_seed(3)  # the same draws again: t, then each example's order
    assert torch.equal(torch.randint(0, 90, (6,), generator=replay), t)
    if family == "random":  # as before families existed, so earlier runs' evaluations stay comparable
        ranks = torch.rand(6, 90, generator=replay).argsort(dim=1).argsort(dim=1).view(6, *SHAPE)
    else:
        seeds = torch.randint(0, TRAINING_SEEDS, (6,), generator=replay).tolist()
        assert len(set(seeds)) > 1
        ranks = family_ranks("dispersed", seeds, SHAPE)
    assert torch.equal(visible, ranks < t.view(-1, 1, 1, 1))


def test_a_dispersed_prefix_is_spread_over_the_image():
    """Unlike a random order, the first quarter of a dispersed one leaves no 2x2 block of pixels unseen."""
    t = torch.tensor([90 // 4] * 4)
    _, visible = random_visibility(4, SHAPE, torch.Generator().manual_seed(0), t, "dispersed")
    seen = visible.any(dim=1)[:, :4, :6].reshape(4, 2, 2, 3, 2).permute(0, 1, 3, 2, 4).reshape(4, 6, 4)
    assert seen.any(dim=2).all()


@pytest.mark.parametrize("branching", [256, 4])
def test_objective_in_a_family_is_finite(branching):
    net = tiny_float_net(head="logistic-mixture", branching=branching)
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, *SHAPE), dtype=np.uint8))
    res = training_loss(net, x, torch.Generator().manual_seed(0), family="dispersed")
    assert torch.isfinite(res.bpd).all() and (res.bpd > 0).all()


def _plans(lo, hi):
    return CallPlans(tuple(8.0 - 5.0 * (j / 255) ** 0.5 for j in range(256)), (lo, hi))


@pytest.mark.parametrize("budget", [1, 4, 13])
def test_a_call_is_the_planned_one_holding_the_step(budget):
    plans, d = _plans(budget, budget), 90
    edges = plan(plans.step_loss, d, budget)
    start, end = plans.draw(d, d, None, torch.arange(d))
    for t in range(d):
        j = np.searchsorted(edges, t, side="right") - 1
        assert (start[t], end[t]) == (edges[j], edges[j + 1]) and start[t] <= t < end[t]


@pytest.mark.parametrize("budget", [3, 10])
def test_the_mean_over_a_uniform_steps_call_is_the_mean_over_all_steps(budget):
    """Why a call's mean loss is an unbiased per-dimension code length: calls are drawn by their length."""
    losses = np.random.default_rng(budget).exponential(size=90)
    start, end = _plans(budget, budget).draw(90, 90, None, torch.arange(90))
    per_step = [losses[s:e].mean() for s, e in zip(start.tolist(), end.tolist())]
    assert np.mean(per_step) == pytest.approx(losses.mean())


def test_budgets_are_drawn_over_the_whole_range():
    plans, g = _plans(2, 64), torch.Generator().manual_seed(0)
    start, end = plans.draw(4000, 3072, g)
    sizes = (end - start).float()
    assert sizes.min() < 3072 / 40 and sizes.max() > 3072 / 3  # calls of budgets near 64 and near 2
    assert ((start >= 0) & (end <= 3072) & (start < end)).all()


@torch.no_grad()
def test_a_call_sees_the_steps_before_it_and_scores_only_its_own():
    """Replayed by hand: the same draws (budget, step, then the order's variant), the mask of the first
    `start` steps and the mean bits of steps [start, end)."""
    net, plans = tiny_float_net(head="logistic-mixture"), _plans(2, 9)
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, *SHAPE), dtype=np.uint8))
    res = training_loss(net, x, torch.Generator().manual_seed(1), family="dispersed", plans=plans)
    replay = torch.Generator().manual_seed(1)
    start, end = plans.draw(3, 90, replay)
    ranks = family_ranks("dispersed", torch.randint(0, TRAINING_SEEDS, (3,), generator=replay).tolist(), SHAPE)
    assert torch.equal(res.step, start) and (start < end).all()
    for b in range(3):
        visible = ranks[b:b + 1] < start[b]
        out = net(network_inputs(x[b:b + 1], visible, fraction_level(start[b:b + 1], 90)))
        bits = -net.output.log_prob(out, x[b:b + 1])[0] / math.log(2)
        own = (ranks[b] >= start[b]) & (ranks[b] < end[b])
        assert float(res.bpd[b]) == pytest.approx(float(bits[own].mean()), rel=1e-5)


def test_training_draws_every_variant_a_bits_back_latent_names():
    assert TRAINING_SEEDS == VARIANTS


@pytest.mark.parametrize("fraction,n_grey", [(0.0, 0), (0.25, 1), (0.5, 2), (1.0, 4)])
def test_a_batch_splits_into_colour_images_and_grey_planes_of_its_first_ones(fraction, n_grey):
    x = torch.from_numpy(np.random.default_rng(5).integers(0, 256, (4, *SHAPE), dtype=np.uint8))
    parts = colour_and_grey(x, fraction)
    assert sum(len(p) for p in parts) == 4 and len(parts) == 1 + (0 < n_grey < 4)
    if n_grey < 4:
        assert torch.equal(parts[0], x[n_grey:])
    if n_grey:
        assert torch.equal(parts[-1], grey_planes(x[:n_grey]))


def test_a_grey_plane_is_trained_on_what_the_coder_shows_and_reads():
    """Three equal channels revealed together (ardm.channels_first, the coder's view), scored on the first
    channel's prediction, the one the coder codes a single plane with."""
    net, plans = tiny_float_net(head="logistic-mixture"), _plans(2, 9)
    plane = np.random.default_rng(6).integers(0, 256, (2, 5, 6, 1), dtype=np.uint8)
    x = torch.from_numpy(plane).permute(0, 3, 1, 2)
    res = training_loss(net, x, torch.Generator().manual_seed(2), family="dispersed", plans=plans)
    replay = torch.Generator().manual_seed(2)
    start, end = plans.draw(2, 30, replay)
    seeds = torch.randint(0, TRAINING_SEEDS, (2,), generator=replay).tolist()
    for b in range(2):
        order = dispersed_order((5, 6, 1), seeds[b])
        known = np.zeros(30, dtype=bool)
        known[order[:start[b]]] = True
        known = known.reshape(5, 6, 1)
        p, v = channels_first(plane[b:b + 1]), channels_first(known[None])
        inputs = interval_inputs(torch.where(v, p, 0), torch.where(v, p, 255), v.to(torch.int64) * 127,
                                 fraction_level(int(known.sum()), known.size).view(1))
        bits = -net.output.log_prob(net(inputs), p)[0, 0].detach() / math.log(2)
        own = order[start[b]:end[b]]
        assert float(res.bpd[b].detach()) == pytest.approx(float(bits.flatten()[own].mean()), rel=1e-5)
    for branching in (256, 4):
        grey = training_loss(tiny_float_net(head="logistic-mixture", branching=branching), x,
                             torch.Generator().manual_seed(0), family="dispersed")
        assert grey.steps == 30 * (1 if branching == 256 else 4) and torch.isfinite(grey.bpd).all()


@pytest.mark.parametrize("budget", [4, 9, 30])
def test_an_upscaling_call_is_one_of_the_coders_calls(budget):
    """Over the four stages of branching 4, the call holding step s * D + t is the one UpscaleARDM.schedule
    makes at that budget (the budget shared between stages by their L_t), and every step is in one."""
    plans, d, seed = _plans(budget, budget), 90, 7
    order = dispersed_order((5, 6, 3), seed)
    coder = UpscaleARDM(None, 4, plans.step_loss, share_by_loss=True, order_family="dispersed")
    calls = {frozenset(c.tolist()): c for c in coder.schedule((4, 5, 6, 3), budget, order)}
    assert len(calls) == max(budget, 4)
    start, end = plans.draw(4 * d, d, None, torch.arange(4 * d), stages=4)
    for t in range(4 * d):
        stage = int(start[t]) // d
        assert stage == t // d and start[t] <= t < end[t]
        dims = frozenset((stage * d + order[int(start[t]) - stage * d:int(end[t]) - stage * d]).tolist())
        assert dims in calls


@torch.no_grad()
@pytest.mark.parametrize("planes", [3, 1])
def test_an_upscaling_call_is_trained_on_what_the_coder_shows_and_scores(planes):
    """Replayed the coder's way (UpscaleARDM.condition_batch): every digit of earlier stages known, digit s of
    the steps before the call; the bits of digit s of the call's own steps, times the four stages."""
    net, plans, digits = tiny_float_net(head="logistic-mixture", branching=4), _plans(5, 40), Digits(4)
    image = np.random.default_rng(planes).integers(0, 256, (3, 5, 6, planes), dtype=np.uint8)
    res = training_loss(net, torch.from_numpy(image).permute(0, 3, 1, 2), torch.Generator().manual_seed(4),
                        family="dispersed", plans=plans)
    d = 30 * planes
    replay = torch.Generator().manual_seed(4)
    start, end = plans.draw(3, d, replay, stages=4)
    seeds = torch.randint(0, TRAINING_SEEDS, (3,), generator=replay).tolist()
    assert torch.equal(res.step, start) and res.steps == 4 * d and len(set((start // d).tolist())) > 1
    for b in range(3):
        stage, first, last = int(start[b]) // d, int(start[b]) % d, int(end[b]) - int(start[b]) // d * d
        order = dispersed_order((5, 6, planes), seeds[b])
        known = np.zeros((4, d), dtype=bool)
        known[:stage] = True
        known[stage, order[:first]] = True
        known = known.reshape(4, 5, 6, planes)
        symbols = digits.split(image[b].astype(np.int64))
        k = channels_first(known.sum(axis=0)[None])
        partial = channels_first(digits.join(np.where(known, symbols, 0))[None])
        lo, hi = digits.interval(partial, k)
        out = net(interval_inputs(lo, hi, digits.level(k), fraction_level(int(known.sum()), 4 * d).view(1)))
        value = channels_first(image[b:b + 1].astype(np.int64))
        bits = -(net.output.log_prob_interval(out, *digits.interval(value, stage + 1))
                 - net.output.log_prob_interval(out, *digits.interval(value, stage)))[0, :planes] / math.log(2)
        own = order[first:last]
        assert float(res.bpd[b]) == pytest.approx(4 * float(bits.permute(1, 2, 0).flatten()[own].mean()), rel=1e-5)
