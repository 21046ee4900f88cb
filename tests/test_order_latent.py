"""The ARDM's generation order as a bits-back latent: exact round trips and exact accounting."""

import math

import numpy as np
import pytest

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.order_latent import OrderLatentCodec, choice_weights, likelihood_weight
from ardmzip.codecs.permutation import PermutationCodec
from ardmzip.models.ardm import OrderAgnosticARDM
from ardmzip.models.upscale import UpscaleARDM
from tiny_model import tiny_integer_net

STEP_LOSS = 3 + 5 * np.exp(-10 * np.linspace(0, 1, 256))
SHAPE = (5, 4, 3)


@pytest.fixture(scope="module")
def ardm():
    return OrderAgnosticARDM(tiny_integer_net(0), STEP_LOSS)


def image(seed, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 64, shape) + np.arange(shape[1])[None, :, None] * 40).astype(np.int64)


def seeded_coder(seed, words=600):
    return AnsCoder(np.random.default_rng(seed).integers(0, 1 << 32, words, dtype=np.uint32))


@pytest.mark.parametrize("orders", [1, 3])
def test_round_trip_returns_every_borrowed_bit(ardm, orders):
    codec = OrderLatentCodec(ardm, SHAPE, budget=4, orders=orders)
    xs = [image(s) for s in range(3)]
    coder = seeded_coder(orders)
    seed = coder.get_compressed().copy()
    for x in xs:
        codec.push(coder, x)
    decoded = [codec.pop(coder) for _ in xs][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(decoded, xs))
    assert np.array_equal(coder.get_compressed(), seed)


@pytest.mark.parametrize("orders", [1, 4])
def test_net_cost_is_minus_log_mean_likelihood_of_the_popped_orders(ardm, orders):
    codec = OrderLatentCodec(ardm, SHAPE, budget=4, orders=orders)
    x = image(7)
    coder = seeded_coder(11)
    popped = coder.clone()  # the encoder's first pops are these K orders
    sampled = [PermutationCodec(codec.dims).pop(popped) for _ in range(orders)]
    start = coder.num_valid_bits()
    codec.push(coder, x)
    net = coder.num_valid_bits() - start
    ideal = codec.ideal_bits(x, sampled)
    single = [codec.ideal_bits(x, [o]) for o in sampled]
    print(f"K={orders}: net {net} bits, ideal {ideal:.2f}, single orders {np.round(single, 2)}")
    assert abs(net - ideal) < 2  # a choice quantized at 24 bits and whole-bit stack counts
    assert ideal <= np.mean(single) + 1e-9  # Jensen: never above the orders' mean cost
    if orders > 1:
        assert ideal < np.mean(single)


def test_the_fixed_order_and_a_given_order_code_the_same_image(ardm):
    x = image(3)
    rng = np.random.default_rng(0)
    order = rng.permutation(math.prod(SHAPE))
    for o in (None, order):
        plane = AutoregressiveCodec(ardm, SHAPE, 4, order=o)
        coder = AnsCoder()
        plane.push(coder, x)
        assert np.array_equal(plane.pop(coder), x) and coder.is_empty()
        bits = -np.log2(plane.symbol_frequencies(x) / 2.0 ** 24).sum()
        assert abs(bits - plane.ideal_bits(x)) < 0.05 * bits  # quantized tables close to the model's
    with pytest.raises(ValueError):
        AutoregressiveCodec(ardm, SHAPE, 4, order=np.zeros(math.prod(SHAPE), dtype=np.int64)).calls


def test_upscaling_model_codes_with_an_order_latent():
    model = UpscaleARDM(tiny_integer_net(5, "categorical", 4), 4)
    shape = (3, 4, 1)
    codec = OrderLatentCodec(model, shape, budget=8, orders=2)
    assert codec.dims == 12 and codec.dims_coded == 48
    x = image(5, shape)
    coder = seeded_coder(5)
    seed = coder.get_compressed().copy()
    codec.push(coder, x)
    assert np.array_equal(codec.pop(coder), x)
    assert np.array_equal(coder.get_compressed(), seed)


def test_choice_weights_are_exact_integers_in_proportion():
    a = likelihood_weight(np.array([3, 5, 7] * 40))
    b = likelihood_weight(np.array([3, 5, 7] * 39 + [3, 5, 14]))  # twice as likely
    w = choice_weights([a, b])
    assert w.max() <= 2 ** 30 and w.max() >= 2 ** 29
    assert abs(w[1] / w[0] - 2) < 1e-8
    assert choice_weights([a, (1, 0)])[1] == 0  # far less likely: weight 0, the quantizer still gives it a count


@pytest.mark.parametrize("orders", [1, 3])
def test_a_dispersed_model_s_latent_is_a_variant_number(orders):
    """Its orders are coded as 16-bit variant numbers of its own family, not as random permutations."""
    from ardmzip.codecs.order_latent import VARIANTS, UniformCodec

    model = OrderAgnosticARDM(tiny_integer_net(0), STEP_LOSS, order_family="dispersed")
    codec = OrderLatentCodec(model, SHAPE, budget=4, orders=orders)
    assert codec.possible and codec.bits_needed == orders * 16 + (24 if orders > 1 else 0)
    xs = [image(s) for s in range(3)]
    coder = seeded_coder(orders, words=60)
    seed = coder.get_compressed().copy()
    popped = coder.clone()
    variants = [int(UniformCodec(np.array([VARIANTS])).pop(popped)[0]) for _ in range(orders)]
    start = coder.num_valid_bits()
    codec.push(coder, xs[0])
    planes = [AutoregressiveCodec(model, SHAPE, 4, order=model.order(SHAPE, v)) for v in variants]
    logp = [np.log2(p.symbol_frequencies(xs[0]) / 2.0 ** 24).sum() for p in planes]
    assert abs(coder.num_valid_bits() - start + np.logaddexp2.reduce(logp) - math.log2(orders)) < 2
    for x in xs[1:]:
        codec.push(coder, x)
    decoded = [codec.pop(coder) for _ in xs][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(decoded, xs))
    assert np.array_equal(coder.get_compressed(), seed)
