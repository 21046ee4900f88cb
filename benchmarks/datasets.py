"""Benchmark image sets from a data folder laid out as ``shared/data`` (see its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

DATASETS = ("cifar10", "imagenet32", "imagenet64", "kodak")


def spread(n_total: int, limit: int | None) -> np.ndarray:
    """Rows spread evenly over a set, so a subset of a class-sorted set sees every class."""
    n = n_total if limit is None else min(limit, n_total)
    return (np.arange(n) * n_total) // n


def load(name: str, data_dir: str | Path, limit: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 image) pairs; test data only."""
    root = Path(data_dir)
    if name == "cifar10":
        x = np.load(root / "cifar10" / "test_x.npy", mmap_mode="r")
        for i in spread(len(x), limit):
            yield f"cifar10-test-{i}", np.asarray(x[i])
    elif name in ("imagenet32", "imagenet64"):
        x = np.load(root / "imagenet_sample" / f"x{name[-2:]}.npy", mmap_mode="r")
        for i in spread(len(x), limit):
            yield f"{name}-{i}", np.asarray(x[i])
    elif name == "kodak":
        files = sorted((root / "kodak").glob("kodim*.png"))
        for i in spread(len(files), limit):
            yield files[i].stem, np.asarray(Image.open(files[i]).convert("RGB"))
    else:
        raise ValueError(f"unknown dataset {name} (known: {', '.join(DATASETS)})")
