"""A tiny random-init model for fast tests (the shipped weights are tested separately)."""

from __future__ import annotations

from pathlib import Path

import torch

from ardmzip.models.ardm_net import ARDMNet, NetConfig
from ardmzip.models.integer_net import IntegerARDMNet
from ardmzip.models.serialization import save_model
from ardmzip.registry import ModelEntry, file_sha256


def tiny_float_net(seed: int = 0, width: int = 8, head: str = "categorical", branching: int = 256) -> ARDMNet:
    torch.manual_seed(seed)
    net = ARDMNet(NetConfig(width=width, dilations=(1, 2), head=head, mixtures=4, branching=branching))
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.2)
    return net


def tiny_integer_net(seed: int = 0, head: str = "categorical", branching: int = 256) -> IntegerARDMNet:
    return IntegerARDMNet.from_float(tiny_float_net(seed, head=head, branching=branching))


def tiny_entry(directory: Path, seed: int = 0, model_id: int = 200, name: str = "tiny",
               head: str = "categorical", branching: int = 256, order: str | None = None) -> ModelEntry:
    """branching below 256: a depth-upscaling ARDM. order: the file's order family (None: none named, random)."""
    path = directory / f"{name}.safetensors"
    info = {"note": "random init, tests only", **({"order": order} if order else {})}
    save_model(path, tiny_integer_net(seed, head, branching), info)
    return ModelEntry(name=name, model_id=model_id, path=path, sha256=file_sha256(path), default_budget=8,
                      description="tiny random test model")
