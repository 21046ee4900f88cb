"""The measured L_t profile: one value per bin of generation steps, each from steps inside its bin."""

import numpy as np
import pytest
import torch

from ardmzip.models import calibrate
from ardmzip.models.objective import training_loss
from tests.tiny_model import tiny_float_net


def _images(n=3, size=5, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8))


@pytest.mark.parametrize("branching", [256, 4])
def test_every_bin_is_measured_at_steps_inside_it(monkeypatch, branching):
    net, images, bins = tiny_float_net(head="logistic-mixture", branching=branching), _images(), 8
    steps = images[0].numel() * (1 if branching == 256 else 4)
    seen = []

    def recording_loss(net_, x, generator=None, position=None):
        if position is not None:
            seen.append(position.clone())
        return training_loss(net_, x, generator, position)

    monkeypatch.setattr(calibrate, "training_loss", recording_loss)
    profile = calibrate.step_loss_profile(net, images, bins, batch=2)
    assert len(profile) == bins and all(np.isfinite(profile)) and min(profile) >= 0
    assert len(seen) == bins * 2  # 3 images in batches of 2
    for j in range(bins):
        pos = torch.cat(seen[2 * j:2 * j + 2])
        assert len(pos) == len(images)
        assert (pos >= j * steps // bins).all() and (pos < (j + 1) * steps // bins).all()


def test_profile_is_reproducible_and_leaves_the_net_in_training_mode():
    net, images = tiny_float_net(head="logistic-mixture"), _images()
    a = calibrate.step_loss_profile(net, images, 4)
    assert net.training
    assert a == calibrate.step_loss_profile(net, images, 4)
    assert a != calibrate.step_loss_profile(net, images, 4, seed=1)
