"""Export a training run's EMA weights as a shipped integer model.

``python -m ardmzip.models.export runs/ardm checkpoint-out.safetensors``
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from .ardm_net import ARDMNet, NetConfig
from .coding_model import PLANNED
from .integer_net import IntegerARDMNet
from .serialization import save_model


def export(run_dir: Path, out: Path, weights: str = "ema") -> str:
    """Write the model file from the run's EMA (or raw, the last step's) weights; returns its sha256."""
    cfg = json.loads((run_dir / "config.json").read_text())
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    net = ARDMNet(NetConfig.from_dict(cfg["net"]))
    net.load_state_dict(state["ema" if weights == "ema" else "net"])
    tracker = state["tracker"]
    info = {
        "objective": f"order-agnostic ARDM (uniform t, random order), {net.config.head} head",
        "train_steps": int(state["step"]),
        "weights": "EMA of the training weights" if weights == "ema" else "the last training step's weights",
        "batch": cfg["train"]["batch"],
        "train_data": "CIFAR-10 train (50,000 images), random horizontal flips",
        "step_loss_bits": [round(float(v), 4) for v in tracker["values"]],  # L_t per visible-fraction bin
        "step_loss_seen": [bool(v) for v in tracker["seen"]],
        "schedule": PLANNED,
    }
    save_model(out, IntegerARDMNet.from_float(net), info)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--weights", choices=["ema", "raw"], default="ema")
    a = p.parse_args()
    print(export(a.run_dir, a.out, a.weights))


if __name__ == "__main__":
    main()
