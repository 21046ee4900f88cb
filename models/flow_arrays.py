"""Which arrays a flow of K classes over C channels codes, and how an array becomes its input.

An 8-bit image flow (K = 256, 3 channels) codes colour planes and shows grey, palette and alpha planes
as three equal channels; a flow for class maps (say 8 classes, 1 channel) codes only arrays of its
channel count whose values are classes, and says why it refuses others.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def shows_grey_as_colour(classes: int, channels: int) -> bool:
    return classes == 256 and channels == 3


def refusal(classes: int, channels: int, shape: tuple[int, ...], x: np.ndarray | None = None) -> str | None:
    """Why a flow cannot code an array of this shape (and values), or None; worded to follow "the model"."""
    fits = (1, 3) if shows_grey_as_colour(classes, channels) else (channels,)
    if len(shape) != 3 or shape[2] not in fits:
        if classes < 256 and channels == 1:
            return (f"codes maps of {classes} classes (L or P images with values 0-{classes - 1}), "
                    f"not images of {shape[2] if len(shape) == 3 else '?'} channels")
        return f"codes arrays of {' or '.join(map(str, fits))} channels, not of shape {shape}"
    if x is not None and x.size and (x.min() < 0 or x.max() >= classes):
        return (f"codes maps of {classes} classes: values must be 0-{classes - 1}, "
                f"found {int(x.min() if x.min() < 0 else x.max())}")
    return None


def padded_input(xs: np.ndarray, channels: int, height: int, width: int) -> torch.Tensor:
    """(B, H, W, c) classes -> (B, channels, height, width) int64, grey repeated and sides padded with edge
    values (the padding is coded with the array and cropped after decoding)."""
    a = torch.from_numpy(np.asarray(xs, dtype=np.int64)).permute(0, 3, 1, 2)
    a = a.expand(-1, channels, -1, -1) if a.shape[1] == 1 else a
    return F.pad(a.double(), (0, width - xs.shape[2], 0, height - xs.shape[1]), mode="replicate").long()
