"""Depth-upscaling ARDM: digits, stage budgets, the training objective and exact round trips."""

import math

import numpy as np
import pytest
import torch

from ardmzip.codecs.ans import AnsCoder, from_bytes, to_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.models.objective import training_loss
from ardmzip.models.ardm import tiled_features
from ardmzip.models.upscale import Digits, UpscaleARDM, stage_budgets
from tiny_model import tiny_float_net, tiny_integer_net

STEP_LOSS = 3 + 5 * np.exp(-10 * np.linspace(0, 1, 256))


@pytest.mark.parametrize("b", [2, 4, 16, 256])
def test_digits_split_join_and_intervals(b):
    digits = Digits(b)
    x = np.arange(256)
    d = digits.split(x)
    assert d.shape == (digits.stages, 256) and d.max() == b - 1
    assert (digits.join(d) == x).all()
    for k in range(digits.stages + 1):
        lo, hi = digits.interval(x, k)
        assert (lo <= x).all() and (x <= hi).all() and (hi - lo + 1 == 256 // b ** k).all()
    assert digits.level(0) == 0 and digits.level(digits.stages) == 127


@pytest.mark.parametrize("b", [3, 8, 1, 512])
def test_unsupported_branching_is_refused(b):
    with pytest.raises(ValueError):
        Digits(b)


def test_planned_shares_give_the_steep_first_stage_more_calls_than_even_shares():
    net, shape = tiny_integer_net(5, "categorical", 4), (4, 32, 32, 3)
    shared = UpscaleARDM(net, 4, STEP_LOSS, share_by_loss=True).schedule(shape, 20)
    even = UpscaleARDM(net, 4, STEP_LOSS).schedule(shape, 20)
    assert len(shared) == len(even) == 20
    first_stage = [sum(int(g[0]) < 32 * 32 * 3 for g in groups) for groups in (shared, even)]
    assert first_stage[0] > first_stage[1] == 5


def test_stage_budgets():
    assert stage_budgets(10, 4) == [3, 3, 2, 2]
    assert stage_budgets(1, 4) == [1, 1, 1, 1]


@pytest.mark.parametrize("head", ["categorical", "logistic-mixture"])
@pytest.mark.parametrize("b,shape,budget,planned", [(4, (6, 5, 3), 9, "shared"), (2, (3, 4, 1), 16, None),
                                                    (16, (5, 7, 3), 2, "within"), (4, (1, 1, 1), 100, None)])
def test_round_trip(head, b, shape, budget, planned):
    """planned: None = even splits; "within" = planned inside even stage shares; "shared" = shares planned too."""
    model = UpscaleARDM(tiny_integer_net(5, head, b), b, STEP_LOSS if planned else None,
                        share_by_loss=planned == "shared")
    x = np.random.default_rng(3).integers(0, 256, shape)
    codec = AutoregressiveCodec(model, shape, budget)
    coder = AnsCoder()
    codec.push(coder, x)
    assert (codec.pop(from_bytes(to_bytes(coder))) == x).all()
    assert codec.calls == len(model.schedule(model.symbol_shape(shape), budget)) >= Digits(b).stages
    assert math.isclose(codec.ideal_bits(x), coder.num_bits(), rel_tol=0.05, abs_tol=64)


def test_weights_are_the_network_interval_masses():
    """Stage 1 of branching 4: the digit weights are the 256-way weights summed over the prefix's quarters."""
    net = tiny_integer_net(6, "categorical", 4)
    model = UpscaleARDM(net, 4)
    x = np.random.default_rng(4).integers(0, 256, (4, 4, 3))
    sym = model.to_symbols(x)
    known = np.zeros(sym.shape, dtype=bool)
    known[0] = True  # stage 0 done: every value known to 64 levels
    w = model.condition(sym, known)(np.arange(48) + 48).astype(np.float64)
    lo = torch.from_numpy((x >> 6) << 6).permute(2, 0, 1)
    feats = tiled_features(net, lambda crop: (lo[None, :, crop[0], crop[1]], lo[None, :, crop[0], crop[1]] + 63,
                                              torch.full_like(lo[None, :, crop[0], crop[1]], 31)), (4, 4),
                           127 * 48 // 192, 256)[0]
    w256 = net.class_weights(feats[torch.arange(48) // 3], torch.arange(48) % 3).double()
    want = torch.stack([w256[i, lo.permute(1, 2, 0).reshape(-1)[i]:][:64].view(4, 16).sum(1) for i in range(48)])
    want = want / want.sum(dim=1, keepdim=True)
    assert np.allclose(w / w.sum(axis=1, keepdims=True), want.numpy(), atol=1e-6)


@pytest.mark.parametrize("head", ["categorical", "logistic-mixture"])
def test_upscale_objective_is_finite_and_trains(head):
    net = tiny_float_net(7, head=head, branching=4)
    x = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    res = training_loss(net, x, torch.Generator().manual_seed(0))
    assert torch.isfinite(res.bpd).all() and (res.bpd > 0).all()
    assert res.steps == 4 * 192 and (res.step < res.steps).all()
    assert torch.allclose(res.bpd, 4 * res.step_bits)
    res.bpd.mean().backward()
    assert net.head.weight.grad.abs().sum() > 0
