"""Discrete Flows (modular location-scale couplings): a bijection on Z_K, exact integers, coding round trips."""

import numpy as np
import pytest
import torch
from PIL import Image

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.flow import FlowCodec
from ardmzip.models.discrete_flow import FAMILY, DFConfig, IntegerDiscreteFlow
from ardmzip.models.flow_files import load_flow, save_flow
from ardmzip.models.idf import squeeze
from conftest import FIXTURES
from exact_checks import at_one_and_two_threads, flow_round_trip
from tiny_flows import tiny_df, tiny_float_df


@pytest.fixture(scope="module")
def flow():
    return tiny_df(1)


@pytest.mark.parametrize("classes", [2, 5, 12, 256])
@pytest.mark.parametrize("batch,h,w", [(1, 2, 2), (3, 8, 6), (2, 16, 32)])
def test_forward_then_inverse_is_the_identity(classes, batch, h, w):
    m = tiny_df(classes, classes=classes)
    x = torch.randint(0, classes, (batch, 3, h, w), generator=torch.Generator().manual_seed(h * w + classes))
    z = m.image_latents(x)
    assert z.min() >= 0 and z.max() < classes
    assert torch.equal(m.image(z), x)


def test_scales_are_units_and_used():
    cfg = DFConfig(classes=12, scales=10)
    assert cfg.units() == [1, 5, 7, 11]  # every unit of Z_12, no more
    assert DFConfig(classes=256, scales=3).units() == [1, 3, 5]
    m = tiny_df(2, scales=3)
    za = torch.randint(-128, 128, (1, 6, 8, 8), generator=torch.Generator().manual_seed(0))
    _, s = m._location_scale(0, za)
    assert len(s.unique()) > 1


def test_couplings_are_not_the_identity(flow):
    x = torch.randint(0, 256, (1, 3, 16, 16), generator=torch.Generator().manual_seed(2))
    assert not torch.equal(flow.image_latents(x), squeeze(x))


def test_same_latents_for_any_thread_count_and_batch(flow):
    x = torch.randint(0, 256, (4, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    one, two = at_one_and_two_threads(lambda: flow.image_latents(x))
    assert torch.equal(one, two)
    assert torch.equal(one, torch.cat([flow.image_latents(x[i:i + 1]) for i in range(4)]))
    with torch.backends.mkldnn.flags(enabled=False):
        assert torch.equal(one, flow.image_latents(x))


def test_float_model_reaches_the_integer_latents():
    """Training's hard forward pass computes the coder's latents, up to argmaxes that fake and exact
    quantization decide apart."""
    f = tiny_float_df(5, std=0.5)  # smaller random weights leave many of the 256 logits tied on the grid
    m = IntegerDiscreteFlow.from_float(f)
    x = torch.randint(0, 256, (2, 3, 16, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        z = torch.nn.functional.one_hot(squeeze(x), 256).movedim(-1, 2).float()
        z = f._couple(0, z)
    assert (z.argmax(2) == m._couple(0, squeeze(x), +1)).float().mean() > 0.95


@pytest.mark.parametrize("name", ["kodim05_crop17x33.png", "kodim23_crop48x40.png"])
def test_round_trip_on_real_images(flow, name):
    img = np.asarray(Image.open(FIXTURES / name).convert("RGB")).astype(np.int64)
    assert np.array_equal(flow_round_trip(flow, img)[0], img)
    assert np.array_equal(flow_round_trip(flow, img[..., 1:2])[0], img[..., 1:2])


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 5, 1)])
def test_round_trip_on_odd_sizes(flow, shape):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape)
    assert np.array_equal(flow_round_trip(flow, img)[0], img)


def test_class_maps_of_their_classes_and_channels_only():
    five = tiny_df(0, classes=5)
    assert five.refusal((4, 4, 3), np.full((4, 4, 3), 4)) is None
    assert "values must be 0-4, found 5" in five.refusal((4, 4, 3), np.full((4, 4, 3), 5))
    assert five.refusal((4, 4, 1)) is not None  # grey as three channels is for 8-bit image flows only
    with pytest.raises(ValueError, match="values must be"):
        FlowCodec(five, (4, 4, 3)).push(AnsCoder(), np.full((4, 4, 3), 7, dtype=np.int64))
    labels = tiny_df(1, classes=8, channels=1, onehot=True)
    assert "maps of 8 classes" in labels.refusal((4, 4, 3))


@pytest.mark.parametrize("h,w", [(2, 2), (7, 9), (32, 32)])
def test_one_hot_label_map_flow_is_invertible_and_codes(h, w):
    m = tiny_df(2, classes=8, channels=1, onehot=True)
    x = torch.randint(0, 8, (2, 1, h + h % 2, w + w % 2), generator=torch.Generator().manual_seed(h))
    z = m.image_latents(x)
    assert z.shape[1] == 4 and torch.equal(m.image(z), x)
    img = np.random.default_rng(h).integers(0, 8, (h, w, 1))
    assert np.array_equal(flow_round_trip(m, img)[0], img)


def test_float_one_hot_flow_reaches_the_integer_latents():
    f = tiny_float_df(6, classes=8, channels=1, onehot=True, std=0.5)
    m = IntegerDiscreteFlow.from_float(f)
    x = torch.randint(0, 8, (2, 1, 16, 16), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        z = f._couple(0, torch.nn.functional.one_hot(squeeze(x), 8).movedim(-1, 2).float())
    assert (z.argmax(2) == m._couple(0, squeeze(x), +1)).float().mean() > 0.95


def test_model_file_round_trip(tmp_path, flow):
    path = tmp_path / "df.safetensors"
    save_flow(path, FAMILY, flow)
    x = torch.randint(0, 256, (1, 3, 8, 8), generator=torch.Generator().manual_seed(6))
    assert torch.equal(load_flow(path).image_latents(x), flow.image_latents(x))


def test_config_refuses_hostile_sizes():
    with pytest.raises(ValueError, match="out of range"):
        DFConfig.from_dict({"classes": 1})
    with pytest.raises(ValueError, match="out of range"):
        DFConfig.from_dict({"couplings": 1000})


def test_training_loss_falls_on_categorical_data():
    """Three-class maps whose right half copies the left: the couplings can learn to zero it."""
    f = tiny_float_df(7, classes=3, scales=2, std=0.05)
    opt = torch.optim.Adam(f.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, 3, (16, 3, 4, 4), generator=g)
    x = torch.cat([x, x], 3)
    losses = []
    for _ in range(60):
        loss = -f.log_prob(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert min(losses[-10:]) < 0.9 * losses[0]
