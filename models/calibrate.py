"""The per-step loss L_t the budget planner needs, measured on training images after training.

The tracker kept during training averages over weights that kept changing and over few samples
per bin; where L_t is noisy, pooling it to a nonincreasing curve leaves flat stretches, and on a flat
stretch the planner sees no gain from extra calls and spends them elsewhere. Measuring the final
weights at every bin, on the same images with the same random orders, gives a smooth profile.
"""

from __future__ import annotations

import torch

from .ardm_net import ARDMNet
from .objective import training_loss


@torch.no_grad()
def step_loss_profile(net: ARDMNet, images: torch.Tensor, bins: int, batch: int = 64, seed: int = 0) -> list[float]:
    """Mean bits per generated dimension in each of `bins` equal ranges of the generation steps.

    images: (N, 3, H, W) uint8 training images (never test data). Each image is evaluated once per
    bin, at a random step inside it.
    """
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    steps = training_loss(net, images[:1].to(device), torch.Generator().manual_seed(seed)).steps
    profile = []
    for j in range(bins):
        lo, hi = j * steps // bins, max((j + 1) * steps // bins, j * steps // bins + 1)
        g = torch.Generator().manual_seed(seed * bins + j)
        total = 0.0
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            position = torch.randint(lo, hi, (len(x),), generator=g)
            total += float(training_loss(net, x.to(device), g, position).step_bits.sum())
        profile.append(total / len(images))
    net.train(was_training)
    return profile
