"""Training and evaluation images from the shared data folder (see its README for the layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def cifar10_train(data_dir: str | Path) -> np.ndarray:
    """CIFAR-10 train as (50000, 32, 32, 3) uint8; stored as five PNG strips of 10,000 images."""
    root = Path(data_dir) / "cifar10"
    strips = [np.asarray(Image.open(root / f"train_x_{k}.png")).reshape(-1, 32, 32, 3) for k in range(5)]
    return np.concatenate(strips)


def cifar10_test(data_dir: str | Path) -> np.ndarray:
    """CIFAR-10 test as (10000, 32, 32, 3) uint8, rows sorted by class."""
    return np.load(Path(data_dir) / "cifar10" / "test_x.npy")


def spread_subset(n_total: int, n: int) -> np.ndarray:
    """Indices of n rows spread evenly over a set (the CIFAR test rows are sorted by class)."""
    n = min(n, n_total)
    return (np.arange(n) * n_total) // n
