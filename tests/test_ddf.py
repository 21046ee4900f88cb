"""Discrete Denoising Flows: the conditional permutation, exact invertibility, determinism, coding round trips."""

import numpy as np
import pytest
import torch
from PIL import Image

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.flow import FlowCodec
from ardmzip.models import conditional_permutation as cp
from ardmzip.models.data import rgb8_labels
from ardmzip.models.ddf import DDFConfig, IntegerDDF, split_raw
from ardmzip.models.flow_files import load_flow, save_flow
from conftest import FIXTURES
from exact_checks import at_one_and_two_threads, flow_round_trip
from tiny_flows import DDF_CONFIGS, tiny_ddf, tiny_float_ddf

KINDS = sorted(DDF_CONFIGS)


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: a second thread only adds waiting, badly so on a busy machine (the thread test sets its own)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module", params=KINDS)
def flow(request):
    return request.param, tiny_ddf(request.param, 1)


def random_classes(cfg: DDFConfig, batch: int, h: int, w: int, seed: int) -> torch.Tensor:
    return torch.randint(0, cfg.classes, (batch, cfg.channels, h, w), generator=torch.Generator().manual_seed(seed))


def test_ranks_follow_the_keys_with_ties_to_the_lower_class():
    keys = torch.tensor([[5, 1, 5, 0, 1]])
    order = [3, 1, 4, 0, 2]  # key 0; key 1: classes 1, 4; key 5: classes 0, 2
    ranks = cp.ranks(keys.expand(5, -1), torch.arange(5))
    assert ranks.tolist() == [order.index(v) for v in range(5)]
    unique = cp.logit_keys(-keys)  # logits -keys: the same order, made unique
    assert cp.classes_at(unique.expand(5, -1), torch.arange(5)).tolist() == order


@pytest.mark.parametrize("k", [0, 1, 3, 7, 8])
def test_a_permutation_and_its_inverse(k):
    g = torch.Generator().manual_seed(k)
    logits = torch.randint(-4, 4, (200, 8), generator=g)  # many ties
    keys = cp.top_k(cp.logit_keys(logits), k)
    x = torch.randint(0, 8, (200,), generator=g)
    y = cp.ranks(keys, x)
    assert torch.equal(cp.classes_at(keys, y), x)
    every = cp.ranks(keys.unsqueeze(1).expand(-1, 8, -1), torch.arange(8).expand(200, -1))
    assert torch.equal(every.sort(dim=1).values, torch.arange(8).expand(200, -1))  # a permutation per row
    if 0 < k < 8:  # after the k most likely, the rest in class order
        rest = cp.classes_at(keys.unsqueeze(1).expand(-1, 8 - k, -1), torch.arange(k, 8).expand(200, -1))
        assert torch.equal(rest, rest.sort(dim=1).values)
    top = cp.classes_at(keys, torch.zeros(200, dtype=torch.long))
    assert torch.equal(logits.gather(1, top.unsqueeze(1)).squeeze(1), logits.max(dim=1).values)
    assert torch.equal(top, logits.argmax(dim=1))  # the first of equal logits


def test_distance_ranks_equal_the_ranks_of_distance_keys():
    g = torch.Generator().manual_seed(0)
    for even in (False, True):
        mean = torch.randint(-6000, 10000, (5000,), generator=g)
        mean = mean // 8 * 8 if even else mean  # means on half-classes: ties between two classes
        x = torch.randint(0, 256, (5000,), generator=g)
        keys = cp.distance_keys(mean, 256, 16)
        assert torch.equal(cp.distance_ranks(mean, x, 256, 16), cp.ranks(keys, x))
        near = cp.classes_at(keys, torch.zeros_like(x))
        assert torch.equal(near, ((mean + 7) // 16).clamp(0, 255))  # the nearest class first, the lower of two


@pytest.mark.parametrize("batch,h,w", [(1, 2, 2), (3, 8, 6), (2, 16, 32)])
def test_every_coupling_is_exactly_invertible(flow, batch, h, w):
    kind, m = flow
    for i, layer in enumerate(m.layers):
        g = torch.Generator().manual_seed(i + h)
        x1 = torch.randint(0, m.classes, (batch, layer.kept, h, w), generator=g)
        x2 = torch.randint(0, m.classes, (batch, layer.targets, h, w), generator=g)
        y = m.couplings[i].ranks(x1, x2)
        assert y.min() >= 0 and y.max() < m.classes
        assert torch.equal(m.couplings[i].classes(x1, y), x2)
        assert torch.equal(y, cp.ranks(m.couplings[i].keys(x1), x2))  # the fast path ranks as the keys do


@pytest.mark.parametrize("h,w", [(8, 8), (16, 24)])
def test_the_whole_flow_is_exactly_invertible(flow, h, w):
    kind, m = flow
    m_ = m.cfg.multiple
    x = random_classes(m.cfg, 2, h * m_ // 8, w * m_ // 8, h * w)
    parts = m.latents(x)
    assert [p.shape[1] for p in parts] == [m.cfg.top_channels] + [layer.targets for layer in m.layers[::-1]]
    assert torch.equal(m.array(parts), x)
    pairs, top = split_raw(m.cfg, x)
    assert torch.equal(parts[0], top)
    assert all(torch.equal(parts[-1 - i], m.couplings[i].ranks(*pairs[i])) for i in range(len(pairs)))


def test_same_permutations_for_any_thread_count_and_batch(flow):
    kind, m = flow
    x = random_classes(m.cfg, 4, 32, 32, 3)
    (one, keys_one), (two, keys_two) = at_one_and_two_threads(
        lambda: (m.latents(x), [m.couplings[i].keys(x1) for i, (x1, _) in enumerate(split_raw(m.cfg, x)[0])]))
    assert all(torch.equal(a, b) for a, b in zip(keys_one, keys_two))
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    single = [m.latents(x[i:i + 1]) for i in range(4)]
    assert all(torch.equal(one[k], torch.cat([s[k] for s in single])) for k in range(len(one)))
    with torch.backends.mkldnn.flags(enabled=False):
        assert all(torch.equal(a, b) for a, b in zip(one, m.latents(x)))


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_float_ranks_mostly_match_the_exact_ranks(kind):
    """The float bound ranks by float scores; the coder by the integer twin's. They part only near ties."""
    f = tiny_float_ddf(kind, 3)
    m = IntegerDDF.from_float(f)
    x = random_classes(f.cfg, 2, 16, 16, 4)
    x1, x2 = split_raw(f.cfg, x)[0][0]
    with torch.no_grad():
        same = (f.float_ranks(0, x1, x2) == m.couplings[0].ranks(x1, x2)).float().mean()
    assert same > 0.9


@pytest.mark.parametrize("name", ["kodim05_crop17x33.png", "kodim23_crop48x40.png"])
def test_round_trip_on_real_images(name):
    m = tiny_ddf("image", 4)
    img = np.asarray(Image.open(FIXTURES / name).convert("RGB")).astype(np.int64)
    for a in (img, img[..., :1], img[:5, :3]):  # colour, grey (three equal channels), tiny odd sides
        back, _ = flow_round_trip(m, a)
        assert np.array_equal(back, a)


@pytest.mark.parametrize("name", ["kodim23_crop48x40.png", "kodim15_crop64x64.png"])
def test_round_trip_on_label_maps(name):
    m = tiny_ddf("labels", 5)
    img = torch.from_numpy(np.array(Image.open(FIXTURES / name).convert("RGB"))).permute(2, 0, 1)[None]
    labels = rgb8_labels(img)[0].permute(1, 2, 0).numpy().astype(np.int64)
    assert labels.max() < 8 and len(np.unique(labels)) > 2
    for a in (labels, labels[:7, :9]):
        back, _ = flow_round_trip(m, a)
        assert np.array_equal(back, a)


def test_refuses_what_it_cannot_code():
    labels, image = tiny_ddf("labels"), tiny_ddf("image")
    assert labels.refusal((4, 4, 1), np.full((4, 4, 1), 7)) is None
    assert "values must be 0-7, found 8" in labels.refusal((4, 4, 1), np.full((4, 4, 1), 8))
    assert "maps of 8 classes" in labels.refusal((4, 4, 3))
    assert image.refusal((4, 4, 1)) is None and image.refusal((4, 4, 3)) is None
    assert image.refusal((4, 4, 2)) is not None
    with pytest.raises(ValueError, match="values must be"):
        labels.forward(np.full((4, 4, 1), 9))


def test_saved_and_loaded_model_codes_the_same(tmp_path):
    m = tiny_ddf("labels", 6)
    save_flow(tmp_path / "m.safetensors", "ddf", m, {"note": "test"})
    loaded = load_flow(tmp_path / "m.safetensors")
    assert isinstance(loaded, IntegerDDF) and loaded.cfg == m.cfg
    x = np.random.default_rng(0).integers(0, 8, (19, 13, 1))
    a, b = FlowCodec(m, x.shape), FlowCodec(loaded, x.shape)
    ca, cb = AnsCoder(), AnsCoder()
    a.push(ca, x)
    b.push(cb, x)
    assert np.array_equal(ca.get_compressed(), cb.get_compressed())


@pytest.mark.parametrize("bad", [{"classes": 100}, {"scoring": "categorical", "onehot": True},
                                 {"channels": 1, "couplings": 3}, {"levels": 0}, {"scoring": "other"}])
def test_config_out_of_range_is_refused(bad):
    with pytest.raises(ValueError):
        DDFConfig.from_dict(bad)


@pytest.mark.parametrize("order", ["spatial", "green-first"])
def test_level_orders_pass_the_subsampled_image_on(order):
    """Both orders keep every channel of sub-pixel (0,0) for the next level; green-first ranks red and
    blue of the other three sub-pixels first (so they are decoded given every green), then their green."""
    cfg = DDFConfig.from_dict({"order": order, "levels": 1})
    x = torch.arange(3 * 4 * 6).view(1, 3, 4, 6)
    (_, first), (_, second) = split_raw(cfg, x)[0]
    assert torch.equal(split_raw(cfg, x)[1], x[:, :, ::2, ::2])
    others = torch.cat([x[:, :, 1::2, 1::2], x[:, :, ::2, 1::2], x[:, :, 1::2, ::2]], 1)  # (1,1), (0,1), (1,0)
    if order == "green-first":
        assert set(first.flatten().tolist()) == set(others[:, [0, 2, 3, 5, 6, 8]].flatten().tolist())  # R, B
        assert set(second.flatten().tolist()) == set(others[:, [1, 4, 7]].flatten().tolist())  # G
    else:
        assert set(second.flatten().tolist()) == set(x[:, :, 1::2, 1::2].flatten().tolist())


def test_per_level_padding_codes_fewer_values_for_odd_sizes():
    whole = tiny_ddf("labels", 2)
    per_level = IntegerDDF(whole.tensors, DDFConfig.from_dict({**DDF_CONFIGS["labels"], "padding": "per-level"}))
    x = np.random.default_rng(3).integers(0, 8, (17, 33, 1))
    counts = [sum(len(p) for p in m.forward(x)) for m in (whole, per_level)]
    # whole: 24 x 40 (multiples of 2**3); per level: what each level pads to, less what goes on (coded there)
    assert counts == [24 * 40, 18 * 34 - 9 * 17 + 10 * 18 - 5 * 9 + 6 * 10]
    for m in (whole, per_level):
        assert np.array_equal(flow_round_trip(m, x)[0], x)
