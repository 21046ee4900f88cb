"""Model files: safetensors holding the integer network (the exact thing inference computes)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .ardm_net import NetConfig
from .integer_net import IntegerARDMNet

FAMILY = "oa-ardm"


def save_model(path: str | Path, net: IntegerARDMNet, info: dict | None = None) -> None:
    meta = {"family": FAMILY, "config": json.dumps(net.config.to_dict()), "info": json.dumps(info or {})}
    save_file(net.t, str(path), metadata=meta)


def load_model(path: str | Path) -> IntegerARDMNet:
    """Load an integer ARDM network; safetensors holds plain tensors, so nothing executes on load."""
    meta = _metadata(path)
    if meta.get("family") != FAMILY:
        raise ValueError(f"{path}: not an {FAMILY} model file")
    return IntegerARDMNet(load_file(str(path)), NetConfig.from_dict(json.loads(meta["config"])))


def model_info(path: str | Path) -> dict:
    return json.loads(_metadata(path).get("info", "{}"))


def _metadata(path: str | Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}
