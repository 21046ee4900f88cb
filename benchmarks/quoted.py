"""Published figures, shown beside ours but always marked as quoted: we did not measure them.

The ImageNet figures are on the official downsampled ImageNet test sets, not on this project's
1,000-image sample, so they compare only loosely.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quoted:
    dataset: str
    method: str
    bpd: float
    source: str


IDF = "Hoogeboom et al. 2019, Integer Discrete Flows and Lossless Compression"
QUOTED = (
    Quoted("cifar10", "ARDM (OA, per image)", 2.71, "Hoogeboom et al. 2022, Autoregressive Diffusion Models"),
    Quoted("cifar10", "IDF", 3.34, IDF),
    Quoted("imagenet32", "IDF", 4.18, IDF),
    Quoted("imagenet64", "IDF", 3.90, IDF),
    Quoted("cifar10", "FLIF", 4.37, IDF),
    Quoted("imagenet32", "FLIF", 5.09, IDF),
    Quoted("imagenet64", "FLIF", 4.55, IDF),
)


def quoted_for(datasets: list[str]) -> list[Quoted]:
    return [q for q in QUOTED if q.dataset in datasets]
