"""Export a flow training run's EMA weights as a shipped exact model.

``python -m ardmzip.models.export_flow runs/idf compressor/weights/idf-c10-v1.safetensors`` (prints its sha256)
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from .data import train_data_text
from .flow_files import FAMILIES, save_flow
from .run_loop import trained_images
from .train_flow import make_flow


def exact_model(run_dir: Path, weights: str = "ema"):
    """The run's family, its trained float flow, and the exact integer model made from it."""
    cfg = json.loads((run_dir / "config.json").read_text())
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True, map_location="cpu")
    flow = make_flow(cfg["family"], cfg["model"])
    flow.load_state_dict(state["ema" if weights == "ema" else "net"])
    _, model_cls = FAMILIES[cfg["family"]]
    return cfg, state, flow, model_cls.from_float(flow)


def export(run_dir: Path, out: Path, weights: str = "ema") -> str:
    cfg, state, flow, model = exact_model(run_dir, weights)
    info = {
        "objective": f"{cfg['family']}: -log2 p(x) under the flow's priors, straight-through rounding, fake quantization",
        "train_steps": int(state["step"]),
        "train_minutes": round(float(state.get("minutes", 0.0)), 1),
        "weights": "EMA of the training weights" if weights == "ema" else "the last training step's weights",
        "batch": cfg["train"]["batch"],
        "train_data": train_data_text(trained_images(state), cfg["train"].get("data", "cifar10"),
                                      cfg["train"].get("photos", 0.0), cfg["train"].get("crop", 0)),
        "parameters": sum(p.numel() for p in flow.parameters()),
    }
    save_flow(out, cfg["family"], model, info)
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
