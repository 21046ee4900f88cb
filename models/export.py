"""Export a training run's weights as a shipped integer model.

``python -m ardmzip.models.export runs/ardm out.safetensors [--weights raw] [--calibrate 64 --data-dir DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from .ardm_net import ARDMNet, NetConfig
from .calibrate import step_loss_profile
from .coding_model import PLANNED
from .data import cifar10_train
from .integer_net import IntegerARDMNet
from .serialization import save_model


def export(run_dir: Path, out: Path, weights: str = "ema", calibration: np.ndarray | None = None) -> str:
    """Write the model file from the run's EMA (or raw, the last step's) weights; returns its sha256.

    calibration: (N, H, W, 3) uint8 training images on which to measure the planner's L_t for the
    exported weights (``calibrate.py``); without them the training run's tracker is used.
    """
    cfg = json.loads((run_dir / "config.json").read_text())
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    net = ARDMNet(NetConfig.from_dict(cfg["net"]))
    net.load_state_dict(state["ema" if weights == "ema" else "net"])
    tracker = state["tracker"]
    if calibration is None:
        step_loss, seen, source = tracker["values"].tolist(), [bool(v) for v in tracker["seen"]], "training tracker"
    else:
        images = torch.from_numpy(np.ascontiguousarray(calibration)).permute(0, 3, 1, 2).contiguous()
        step_loss = step_loss_profile(net, images, len(tracker["values"]))
        seen, source = [True] * len(step_loss), f"measured on {len(images)} training images"
    info = {
        "objective": ("order-agnostic ARDM (uniform t, random order)" if net.config.branching == 256 else
                      f"depth-upscaling ARDM, branching {net.config.branching}") + f", {net.config.head} head",
        "train_steps": int(state["step"]),
        "weights": "EMA of the training weights" if weights == "ema" else "the last training step's weights",
        "batch": cfg["train"]["batch"],
        "train_data": "CIFAR-10 train (50,000 images), random horizontal flips",
        "step_loss_bits": [round(float(v), 4) for v in step_loss],  # L_t per visible-fraction bin
        "step_loss_seen": seen,
        "step_loss_source": source,
        "schedule": PLANNED,
    }
    if net.config.branching != 256:
        info["stage_budgets"] = PLANNED
    save_model(out, IntegerARDMNet.from_float(net), info)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--weights", choices=["ema", "raw"], default="ema")
    p.add_argument("--calibrate", type=int, default=0, metavar="N",
                   help="measure L_t on N CIFAR-10 training images (needs --data-dir) instead of the tracker's")
    p.add_argument("--data-dir", type=Path)
    a = p.parse_args()
    calibration = None
    if a.calibrate:
        if a.data_dir is None:
            p.error("--calibrate needs --data-dir")
        torch.set_num_threads(1)
        train = cifar10_train(a.data_dir)
        calibration = train[np.random.default_rng(0).choice(len(train), a.calibrate, replace=False)]
    print(export(a.run_dir, a.out, a.weights, calibration))


if __name__ == "__main__":
    main()
