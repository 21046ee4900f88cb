"""Export a finished DDF training run as a shipped exact model, and measure what the integer nets cost.

``python -m ardmzip.models.export_ddf runs/ddf compressor/weights/ddf-c10-v1.safetensors --data-dir ../shared/data``
prints the file's sha256. With ``--measure N`` the file's info records the float bound (float nets
ranking and weighing) beside the exact model's ideal code length on N CIFAR-10 test images spread
over the set: the loss from quantizing after training. Nothing is chosen by those figures.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch

from .data import cifar10_test, spread_subset, train_data_text, training_view
from .ddf import FAMILY, PADDINGS, DDFConfig, FloatDDF, IntegerDDF
from .flow_files import save_flow
from .run_loop import to_nchw
from .train_ddf import LN2, load_trained


@torch.no_grad()
def quantization_cost(flow: FloatDDF, model: IntegerDDF, x: torch.Tensor, batch: int = 25) -> dict:
    """Bits per dimension of classes x (B, C, H, W) under the float flow and under the exact model."""
    dims = x.numel()
    float_bits = sum(-flow.log_prob(x[i:i + batch]).sum().item() / LN2 for i in range(0, len(x), batch))
    exact_bits = sum(model.bits(x[i:i + batch]).sum().item() for i in range(0, len(x), batch))
    return {"float_bound_bpd": round(float_bits / dims, 4), "integer_bpd": round(exact_bits / dims, 4),
            "images": len(x)}


def export(run_dir: Path, out: Path, data_dir: Path | None = None, measure: int = 0, padding: str | None = None) -> str:
    """`padding` overrides the run's (training sees whole 32x32 images and never pads, so it is the coder's choice)."""
    saved, flow, minutes, images = load_trained(run_dir)
    if padding:
        flow.cfg = DDFConfig.from_dict({**flow.cfg.to_dict(), "padding": padding})
    model = IntegerDDF.from_float(flow)
    train = saved["train"]
    info = {
        "objective": "ddf: each net alone on its cross-entropy (couplings: x2 given x1; split priors: the exact "
                     "coupling's ranks given x1); top prior from class counts",
        "train_steps_per_net": train["total_steps"],
        "nets": 2 * len(flow.couplings),
        "train_minutes": round(minutes, 1),
        "weights": "EMA of each net's training weights, quantized after training (fake-quantized nets)",
        "batch": train["batch"],
        "train_data": train_data_text(images, train["data"]),
        "parameters": sum(p.numel() for p in flow.parameters()),
    }
    if measure:
        test = cifar10_test(data_dir)
        x = training_view(train["data"])(to_nchw(test[spread_subset(len(test), measure)])).long()
        info["quantization_cost_on_test"] = quantization_cost(flow, model, x)
    save_flow(out, FAMILY, model, info)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--measure", type=int, default=0, help="test images for the float / integer figures")
    p.add_argument("--padding", choices=PADDINGS, help="how the model pads odd sides (default: the run's config)")
    a = p.parse_args()
    if a.measure and not a.data_dir:
        p.error("--measure needs --data-dir")
    torch.set_num_threads(1)
    print(export(a.run_dir, a.out, a.data_dir, a.measure, a.padding))


if __name__ == "__main__":
    main()
