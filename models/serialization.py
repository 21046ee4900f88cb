"""Model files: safetensors holding the integer network (the exact thing inference computes)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load, load_file, save_file

from .ardm_net import NetConfig
from .integer_net import IntegerARDMNet

FAMILY = "oa-ardm"


def save_model(path: str | Path, net: IntegerARDMNet, info: dict | None = None) -> None:
    meta = {"family": FAMILY, "config": json.dumps(net.config.to_dict()), "info": json.dumps(info or {})}
    save_file(net.t, str(path), metadata=meta)


def load_model(path: str | Path) -> IntegerARDMNet:
    """Load an integer ARDM network; safetensors holds plain tensors, so nothing executes on load."""
    return network(_metadata(path), load_file(str(path)), path)


def network(meta: dict[str, str], tensors: dict[str, torch.Tensor], source: object = "model file") -> IntegerARDMNet:
    """The integer ARDM network of a model file's metadata and tensors."""
    if meta.get("family") != FAMILY:
        raise ValueError(f"{source}: not an {FAMILY} model file")
    return IntegerARDMNet(tensors, NetConfig.from_dict(json.loads(meta["config"])))


def model_info(path: str | Path) -> dict:
    return info_of(_metadata(path))


def info_of(meta: dict[str, str]) -> dict:
    return json.loads(meta.get("info", "{}"))


def _metadata(path: str | Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def read(data: bytes) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The metadata and tensors of a safetensors file's bytes, read once: an 8-byte little-endian header
    length, the JSON header (metadata under "__metadata__"), then the tensors, which safetensors checks."""
    tensors = load(data)  # refuses a malformed header or tensors beyond the data
    length = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8:8 + length]).get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ValueError("model file's metadata is not a table of strings")
    return meta, tensors
