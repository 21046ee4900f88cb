"""Fake quantization used in training, so the float network learns what the integer network computes.

The integer network (``integer_net.py``) is exact on any machine because every convolution sees
integer weights in [-127, 127] and integer activations in [0, 127] (inputs in [-128, 127]), so every
partial sum stays below 2**24 and float32 adds them exactly in any order.
"""

from __future__ import annotations

import torch

WEIGHT_LEVELS = 127
ACT_LEVELS = 127
INPUT_SCALE = 128  # network inputs are integers in [-128, 127], seen by the float net divided by this


def weight_scale(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel step that maps the largest weight of each channel to 127."""
    amax = w.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-8)
    return amax / WEIGHT_LEVELS


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Round to the int8 grid in the forward pass, identity gradient in the backward pass."""
    s = weight_scale(w).view(-1, *([1] * (w.dim() - 1)))
    q = torch.round(w / s).clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS) * s
    return w + (q - w).detach()


def fake_quant_act(a: torch.Tensor, clip: float) -> torch.Tensor:
    """ReLU clipped at `clip`, rounded to 127 levels; gradient passes inside (0, clip)."""
    a = a.clamp(0.0, clip)
    step = clip / ACT_LEVELS
    q = torch.round(a / step) * step
    return a + (q - a).detach()
