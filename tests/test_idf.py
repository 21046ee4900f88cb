"""Integer Discrete Flow: an exact bijection, the same integers everywhere, files that code and decode."""

import numpy as np
import pytest
import torch
from PIL import Image

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.flow import FlowCodec
from ardmzip.models.flow_files import load_flow, save_flow
from ardmzip.models.idf import FAMILY, IDFConfig, IntegerIDF, squeeze, unsqueeze
from conftest import FIXTURES
from exact_checks import at_one_and_two_threads, flow_round_trip
from tiny_flows import tiny_float_idf, tiny_idf


@pytest.fixture(scope="module")
def flow():
    return tiny_idf(1)


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("batch,h,w", [(1, 8, 8), (3, 16, 8), (2, 32, 24)])
def test_forward_then_inverse_is_the_identity(levels, batch, h, w):
    m = tiny_idf(levels, levels=levels)
    if h % m.cfg.multiple or w % m.cfg.multiple:
        pytest.skip("side not a multiple of 2**levels")
    x = torch.randint(0, 256, (batch, 3, h, w), generator=torch.Generator().manual_seed(h * w))
    parts = m.image_latents(x)
    assert len(parts) == levels and sum(p[0].numel() for p in parts) == 3 * h * w
    assert torch.equal(m._descend(parts, None), x)


def test_latents_beyond_pixel_range_invert_too(flow):
    """The bijection is on all of Z^D, not just on images: big values come back too."""
    x = torch.randint(-100_000, 100_000, (2, 3, 16, 16), generator=torch.Generator().manual_seed(1))
    assert torch.equal(flow._descend(flow.image_latents(x), None), x)


def test_squeeze_inverts():
    z = torch.arange(2 * 3 * 4 * 6).view(2, 3, 4, 6)
    assert torch.equal(unsqueeze(squeeze(z)), z)


def test_couplings_are_not_the_identity(flow):
    x = torch.randint(0, 256, (1, 3, 16, 16), generator=torch.Generator().manual_seed(2))
    assert not torch.equal(flow.image_latents(x)[-1], squeeze(x - 128)[:, 6:])


def test_same_latents_for_any_thread_count_and_batch(flow):
    x = torch.randint(0, 256, (4, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    one, two = at_one_and_two_threads(lambda: flow.image_latents(x))
    apart = [flow.image_latents(x[i:i + 1]) for i in range(4)]
    for k, part in enumerate(one):
        assert torch.equal(part, two[k])
        assert torch.equal(part, torch.cat([a[k] for a in apart]))


def test_same_latents_without_onednn(flow):
    x = torch.randint(0, 256, (2, 3, 32, 32), generator=torch.Generator().manual_seed(4))
    with torch.backends.mkldnn.flags(enabled=False):
        off = flow.image_latents(x)
    assert all(torch.equal(a, b) for a, b in zip(off, flow.image_latents(x)))


def test_float_model_reaches_the_integer_latents():
    """Training sees the latents coding uses, up to roundings that fake and exact quantization decide apart
    (about 1 latent in 4000 for a flow trained a few minutes)."""
    f = tiny_float_idf(5, std=0.05)
    m = IntegerIDF.from_float(f)
    x = torch.randint(0, 256, (2, 3, 16, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        z = squeeze(x.float() - 128)
        for i in range(len(f.couplings) // 2):
            z = f._couple(i, z)
    expected = squeeze(x - 128)
    for i in range(len(m.couplings) // 2):
        expected = m._couple(i, expected, +1)
    assert (z.long() != expected).float().mean() < 0.05


@pytest.mark.parametrize("name", ["kodim05_crop17x33.png", "kodim15_crop64x64.png", "kodim23_crop48x40.png"])
def test_round_trip_on_real_images(flow, name):
    img = np.asarray(Image.open(FIXTURES / name).convert("RGB")).astype(np.int64)
    back, _ = flow_round_trip(flow, img)
    assert np.array_equal(back, img)
    grey = img[..., :1]
    back, _ = flow_round_trip(flow, grey)
    assert np.array_equal(back, grey)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 5, 1), (9, 13, 3)])
def test_round_trip_on_odd_sizes(flow, shape):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape)
    back, _ = flow_round_trip(flow, img)
    assert np.array_equal(back, img)


def test_refuses_other_channel_counts(flow):
    with pytest.raises(ValueError, match="planes"):
        FlowCodec(flow, (4, 4, 2)).push(AnsCoder(), np.zeros((4, 4, 2), dtype=np.int64))


def test_model_file_round_trip(tmp_path, flow):
    path = tmp_path / "idf.safetensors"
    save_flow(path, FAMILY, flow)
    loaded = load_flow(path)
    x = torch.randint(0, 256, (1, 3, 16, 16), generator=torch.Generator().manual_seed(6))
    assert all(torch.equal(a, b) for a, b in zip(loaded.image_latents(x), flow.image_latents(x)))


def test_config_refuses_hostile_sizes():
    with pytest.raises(ValueError, match="out of range"):
        IDFConfig.from_dict({"levels": 40})
    with pytest.raises(ValueError, match="out of range"):
        IDFConfig.from_dict({"width": 10 ** 6})


def test_training_loss_falls():
    f = tiny_float_idf(7, mixtures=1)
    opt = torch.optim.Adam(f.parameters(), lr=3e-3)
    x = torch.randint(100, 140, (8, 3, 8, 8), generator=torch.Generator().manual_seed(7))
    losses = []
    for _ in range(30):
        loss = -f.log_prob(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
