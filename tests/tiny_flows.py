"""Tiny random-init discrete flows for fast tests (the shipped weights are tested separately)."""

from __future__ import annotations

from pathlib import Path

import torch

from ardmzip.models.ddf import FAMILY as DDF_FAMILY, DDFConfig, FloatDDF, IntegerDDF
from ardmzip.models.discrete_flow import FAMILY as DF_FAMILY, DFConfig, DiscreteFlow, IntegerDiscreteFlow
from ardmzip.models.flow_files import save_flow
from ardmzip.models.idf import FAMILY as IDF_FAMILY, IDF, IDFConfig, IntegerIDF
from ardmzip.registry import ModelEntry, file_sha256


def tiny_float_idf(seed: int = 0, levels: int = 2, mixtures: int = 2, std: float = 0.2) -> IDF:
    torch.manual_seed(seed)
    flow = IDF(IDFConfig(levels=levels, couplings=2, width=8, blocks=1, mixtures=mixtures, seed=seed))
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0.0, std)
    return flow


def tiny_idf(seed: int = 0, levels: int = 2, mixtures: int = 2) -> IntegerIDF:
    return IntegerIDF.from_float(tiny_float_idf(seed, levels, mixtures))


def tiny_idf_entry(directory: Path, model_id: int = 201, name: str = "tiny-idf") -> ModelEntry:
    path = directory / f"{name}.safetensors"
    save_flow(path, IDF_FAMILY, tiny_idf(3), {"note": "random init, tests only"})
    return ModelEntry(name=name, model_id=model_id, path=path, sha256=file_sha256(path), default_budget=1,
                      description="tiny random test flow")


def tiny_float_df(seed: int = 0, classes: int = 256, scales: int = 3, std: float = 0.2, channels: int = 3,
                  onehot: bool = False) -> DiscreteFlow:
    torch.manual_seed(seed)
    flow = DiscreteFlow(DFConfig(classes=classes, channels=channels, onehot=onehot, couplings=3, width=8, blocks=1,
                                 scales=scales, seed=seed))
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0.0, std)
    return flow


def tiny_df(seed: int = 0, classes: int = 256, scales: int = 3, channels: int = 3,
            onehot: bool = False) -> IntegerDiscreteFlow:
    return IntegerDiscreteFlow.from_float(tiny_float_df(seed, classes, scales, channels=channels, onehot=onehot))


def tiny_df_entry(directory: Path, model_id: int = 202, name: str = "tiny-df") -> ModelEntry:
    path = directory / f"{name}.safetensors"
    save_flow(path, DF_FAMILY, tiny_df(4), {"note": "random init, tests only"})
    return ModelEntry(name=name, model_id=model_id, path=path, sha256=file_sha256(path), default_budget=1,
                      description="tiny random test discrete flow")


DDF_CONFIGS = {
    "image": {"width": 8, "levels": 2, "order": "green-first", "padding": "per-level"},  # K = 256, logistic scoring
    "labels": {"classes": 8, "channels": 1, "scoring": "categorical", "onehot": True, "width": 8, "levels": 3},
    "top-k": {"classes": 5, "channels": 2, "scoring": "categorical", "k_sort": 2, "width": 8, "levels": 1,
              "couplings": 3},
}


def tiny_float_ddf(kind: str = "image", seed: int = 0, std: float = 0.2) -> FloatDDF:
    torch.manual_seed(seed)
    flow = FloatDDF(DDFConfig.from_dict(DDF_CONFIGS[kind]))
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0.0, std)
        flow.fit_top(torch.randint(0, 50, flow.top.shape))
    return flow


def tiny_ddf(kind: str = "image", seed: int = 0) -> IntegerDDF:
    return IntegerDDF.from_float(tiny_float_ddf(kind, seed))


def tiny_ddf_entry(directory: Path, kind: str = "image", model_id: int = 203, name: str = "tiny-ddf") -> ModelEntry:
    path = directory / f"{name}.safetensors"
    save_flow(path, DDF_FAMILY, tiny_ddf(kind, 5), {"note": "random init, tests only"})
    return ModelEntry(name=name, model_id=model_id, path=path, sha256=file_sha256(path), default_budget=1,
                      description="tiny random test denoising flow")
