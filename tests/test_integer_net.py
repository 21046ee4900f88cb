"""Exactness of the integer network: the same integers whatever the threads, batch or kernels."""

import pytest
import torch

from ardmzip.models.ardm_net import ARDMNet, NetConfig, fraction_level, network_inputs
from ardmzip.models.integer_net import IntegerARDMNet, export_integer_tensors, float_state_dict
from exact_checks import at_one_and_two_threads
from tiny_model import tiny_float_net


def random_inputs(batch, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (batch, 3, h, w), generator=g)
    vis = torch.rand(batch, 3, h, w, generator=g) < torch.rand(batch, 1, 1, 1, generator=g)
    return network_inputs(x, vis, fraction_level(vis.flatten(1).sum(1), 3 * h * w))


def weights_of(net, inputs):
    feats = net.features(inputs)  # (B, width, H, W)
    b, c, h, w = feats.shape
    rows = feats.permute(0, 2, 3, 1).reshape(-1, c)
    channel = torch.arange(len(rows)) % 3
    return net.class_weights(rows, channel)


HEADS = ["categorical", "logistic-mixture"]


@pytest.fixture(scope="module", params=HEADS)
def net(request):
    return IntegerARDMNet.from_float(tiny_float_net(1, width=32, head=request.param))


@pytest.mark.parametrize("h,w", [(32, 32), (17, 33), (1, 1)])
def test_same_integers_for_any_thread_count(net, h, w):
    inputs = random_inputs(2, h, w)
    assert torch.equal(*at_one_and_two_threads(lambda: weights_of(net, inputs)))


def test_same_integers_for_any_batch_size(net):
    inputs = random_inputs(5, 24, 20, seed=3)
    together = weights_of(net, inputs)
    apart = torch.cat([weights_of(net, inputs[i:i + 1]) for i in range(5)])
    assert torch.equal(together, apart)


def test_same_integers_without_onednn(net):
    inputs = random_inputs(2, 32, 32, seed=4)
    with torch.backends.mkldnn.flags(enabled=False):
        off = weights_of(net, inputs)
    assert torch.equal(off, weights_of(net, inputs))


@pytest.mark.parametrize("head", HEADS)
def test_integer_network_follows_the_trained_float_network(head):
    fnet = tiny_float_net(2, width=16, head=head)
    inet = IntegerARDMNet.from_float(fnet)
    inputs = random_inputs(1, 16, 16, seed=5)
    with torch.no_grad():
        out = fnet(inputs).double()  # (1, 3, P, H, W)
        values = torch.arange(256).view(256, 1, 1, 1).expand(256, 3, 16, 16)
        logp = fnet.output.log_prob(out.expand(256, -1, -1, -1, -1), values)  # (256, 3, H, W)
    per_pixel = logp.permute(2, 3, 1, 0).reshape(-1, 3, 256)
    float_logp = per_pixel[torch.arange(len(per_pixel)), torch.arange(len(per_pixel)) % 3]
    w = weights_of(inet, inputs).double()
    int_logp = torch.log((w / w.sum(dim=1, keepdim=True)).clamp_min(2.0 ** -24))  # the coder's floor
    assert 0 < w.max() <= 2 ** 30
    p = float_logp.exp()
    gap = torch.where(p > 0, p * (float_logp - int_logp), 0.0).sum(dim=1)  # KL(float || integer), nats
    # a mixture's means are 128 levels per unit of output, so trunk rounding moves them more
    assert gap.mean() < (0.01 if head == "categorical" else 0.02)


def test_exported_weights_are_int8():
    t = export_integer_tensors(tiny_float_net(0))
    assert t["stem.weight"].dtype == torch.int8
    assert t["stem.weight"].abs().max() <= 127
    assert t["exp_table"][0] == 2 ** 30


def test_weights_that_could_overflow_float32_are_refused():
    fnet = tiny_float_net(0, width=128)
    t = export_integer_tensors(fnet)
    t["blocks.0.conv1.weight"] = torch.full_like(t["blocks.0.conv1.weight"], 127)
    with pytest.raises(ValueError, match="not exact"):
        IntegerARDMNet(t, NetConfig(width=128, dilations=(1, 2)))


@pytest.mark.parametrize("head", HEADS)
def test_float32_equals_a_float64_reference_at_full_width(head):
    """The shipped width (64) with dilations: float32 partial sums are exact, so results match float64."""
    fnet = tiny_float_net(3, width=64, head=head)
    t = export_integer_tensors(fnet)
    cfg = fnet.config
    inputs = random_inputs(1, 40, 36, seed=6)
    fast = weights_of(IntegerARDMNet(t, cfg), inputs)
    assert torch.equal(fast, weights_of(IntegerARDMNet(t, cfg, dtype=torch.float64), inputs))


@pytest.mark.parametrize("change", [{"dilations": [10 ** 6]}, {"width": 0}, {"branching": 3}, {"head": "gauss"},
                                    {"mixtures": 10 ** 9}, {"width": 64.5}])
def test_model_file_configs_out_of_range_are_refused(change):
    d = NetConfig().to_dict()
    d.update(change)
    with pytest.raises((ValueError, TypeError)):
        NetConfig.from_dict(d)
    assert NetConfig.from_dict(NetConfig().to_dict()) == NetConfig()


@pytest.mark.parametrize("head", HEADS)
def test_float_weights_recovered_from_a_model_file_export_back_to_it(head):
    original = export_integer_tensors(tiny_float_net(3, width=16, head=head))
    config = tiny_float_net(3, width=16, head=head).config
    net = ARDMNet(config)
    net.load_state_dict(float_state_dict(original, config))
    again = export_integer_tensors(net)
    assert again.keys() == original.keys()
    for key, value in original.items():
        if key.endswith(".mult"):  # float32 weights put each channel's scale back to within 2**-24
            assert (again[key] - value).abs().max() <= 1, key
        else:
            assert torch.equal(again[key], value), key
    inputs = random_inputs(2, 9, 7)
    exact = weights_of(IntegerARDMNet(original, config), inputs)
    recovered = weights_of(IntegerARDMNet(again, config), inputs)
    assert (exact - recovered).abs().max() <= exact.max() // 1000
