"""Model files of the discrete flows: safetensors of the exact integer model, its family and config as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .ddf import FAMILY as DDF_FAMILY, DDFConfig, IntegerDDF
from .discrete_flow import FAMILY as DF_FAMILY, DFConfig, IntegerDiscreteFlow
from .exact_flow import ExactFlow
from .idf import FAMILY as IDF_FAMILY, IDFConfig, IntegerIDF

FAMILIES = {IDF_FAMILY: (IDFConfig, IntegerIDF), DF_FAMILY: (DFConfig, IntegerDiscreteFlow),
            DDF_FAMILY: (DDFConfig, IntegerDDF)}  # config, exact model


def family_of(path: str | Path) -> str | None:
    with safe_open(str(path), framework="pt") as f:
        return (f.metadata() or {}).get("family")


def save_flow(path: str | Path, family: str, model, info: dict | None = None) -> None:
    meta = {"family": family, "config": model.config_json(), "info": json.dumps(info or {})}
    save_file({k: v.contiguous() for k, v in model.tensors.items()}, str(path), metadata=meta)


def load_flow(path: str | Path) -> ExactFlow:
    """The exact flow of a model file; plain tensors and JSON, so nothing executes on load."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return flow(meta, load_file(str(path)), path)


def flow(meta: dict[str, str], tensors: dict[str, torch.Tensor], source: object = "model file") -> ExactFlow:
    """The exact flow of a model file's metadata and tensors."""
    if meta.get("family") not in FAMILIES:
        raise ValueError(f"{source}: not a discrete flow model file")
    config_cls, model_cls = FAMILIES[meta["family"]]
    return model_cls(tensors, config_cls.from_dict(json.loads(meta["config"])))
