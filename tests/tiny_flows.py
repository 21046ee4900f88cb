"""Tiny random-init discrete flows for fast tests (the shipped weights are tested separately)."""

from __future__ import annotations

import torch

from ardmzip.models.idf import IDF, IDFConfig, IntegerIDF


def tiny_float_idf(seed: int = 0, levels: int = 2, mixtures: int = 2, std: float = 0.2) -> IDF:
    torch.manual_seed(seed)
    flow = IDF(IDFConfig(levels=levels, couplings=2, width=8, blocks=1, mixtures=mixtures, seed=seed))
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0.0, std)
    return flow


def tiny_idf(seed: int = 0, levels: int = 2, mixtures: int = 2) -> IntegerIDF:
    return IntegerIDF.from_float(tiny_float_idf(seed, levels, mixtures))
