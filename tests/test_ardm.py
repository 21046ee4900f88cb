import hashlib

import numpy as np
import pytest

from ardmzip.codecs.ans import AnsCoder, from_bytes, to_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.models.ardm import OrderAgnosticARDM, even_groups
from ardmzip.models.orders import generation_order
from tiny_model import tiny_integer_net


def test_order_is_a_fixed_permutation():
    order = generation_order((32, 32, 3))
    assert sorted(order.tolist()) == list(range(3072))
    assert (order == generation_order((32, 32, 3))).all()
    assert not (order == generation_order((32, 32, 1)).repeat(3)).all()
    # files written today must decode tomorrow: the order is part of the format
    digest = hashlib.sha256(order.astype("<i8").tobytes()).hexdigest()
    assert digest == GOLDEN_ORDER_SHA256


GOLDEN_ORDER_SHA256 = "816ab30dd6f000c97bc83e85cd1f3e3bf4fedcbe8e6d6aa991163b43a0c4077d"


@pytest.mark.parametrize("d,budget", [(3072, 64), (10, 100), (1, 5), (7, 3), (100, 1)])
def test_even_groups_cover_everything(d, budget):
    edges = even_groups(d, budget)
    assert edges[0] == 0 and edges[-1] == d
    assert len(edges) - 1 == min(d, budget)
    assert (np.diff(edges) >= 1).all()


STEP_LOSS = 3 + 5 * np.exp(-10 * np.linspace(0, 1, 256))  # steep at first, like a trained model's


@pytest.fixture(scope="module", params=["even", "planned"])
def model(request):
    return OrderAgnosticARDM(tiny_integer_net(0), STEP_LOSS if request.param == "planned" else None)


@pytest.mark.parametrize("shape,budget", [((5, 6, 3), 7), ((32, 32, 3), 64), ((1, 1, 1), 4), ((3, 2, 1), 6)])
def test_schedule_codes_each_dimension_once(model, shape, budget):
    groups = model.schedule(shape, budget)
    d = int(np.prod(shape))
    assert len(groups) == min(budget, d)
    assert sorted(np.concatenate(groups).tolist()) == list(range(d))


def test_planned_schedule_spends_its_calls_where_the_loss_changes_fast():
    groups = OrderAgnosticARDM(tiny_integer_net(0), STEP_LOSS).schedule((32, 32, 3), 64)
    sizes = [len(g) for g in groups]
    assert sizes[0] < sizes[-1]


@pytest.mark.parametrize("channels", [3, 1])
def test_probabilities_ignore_unknown_values(model, channels):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (9, 11, channels))
    known = rng.random(x.shape) < 0.4
    idx = np.flatnonzero(~known)
    p = model.probabilities(x, known, idx)
    assert p.shape == (len(idx), 256) and p.dtype == np.int64
    assert (p.max(axis=1) == 2 ** 30).all()
    other = np.where(known, x, rng.integers(0, 256, x.shape))
    assert (model.probabilities(other, known, idx) == p).all()


@pytest.mark.parametrize("head", ["categorical", "logistic-mixture"])
@pytest.mark.parametrize("shape,budget", [((7, 5, 3), 6), ((4, 9, 1), 50)])
def test_planned_model_round_trips(head, shape, budget):
    model = OrderAgnosticARDM(tiny_integer_net(1, head), STEP_LOSS)
    x = np.random.default_rng(2).integers(0, 256, shape)
    codec = AutoregressiveCodec(model, shape, budget)
    coder = AnsCoder()
    codec.push(coder, x)
    assert (codec.pop(from_bytes(to_bytes(coder))) == x).all()


@pytest.mark.parametrize("tile", [4, 9, 512])
def test_tiled_features_equal_a_whole_image_pass(tile):
    net = tiny_integer_net(3)
    whole, tiled = OrderAgnosticARDM(net, tile=1 << 20), OrderAgnosticARDM(net, tile=tile)
    rng = np.random.default_rng(4)
    for shape in [(23, 30, 3), (17, 9, 1)]:
        x = rng.integers(0, 256, shape)
        known = rng.random(shape) < 0.5
        idx = np.arange(x.size)
        assert np.array_equal(tiled.probabilities(x, known, idx), whole.probabilities(x, known, idx))
