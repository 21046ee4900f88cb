"""Export a training run's weights as a shipped integer model.

``python -m ardmzip.models.export runs/ardm out.safetensors [--weights raw|best] [--calibrate 64 --data-dir DIR]
[--order dispersed|random]``
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
from .data import cifar10_train, train_data_text
from .integer_net import IntegerARDMNet
from .orders import DISPERSED, FAMILIES, RANDOM, check_family
from .run_loop import trained_images
from .serialization import save_model
from .train import TrainConfig, evaluate


def _nchw(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def trained_plans(cfg: dict):
    """The coder's calls a run trained on (objective.CallPlans), or None for the order-agnostic objective."""
    train = cfg["train"]
    return TrainConfig(order=train.get("order", RANDOM), budgets=train.get("budgets"),
                       plan_step_loss=train.get("plan_step_loss")).plans()


def trained_order(cfg: dict) -> str:
    """The orders a run trained in (runs before ``--order`` trained order-agnostic: random)."""
    return check_family(cfg["train"].get("order", RANDOM))


def trained_grey(cfg: dict) -> float:
    """The fraction of each batch a run trained as grey planes (none before ``--grey``)."""
    return float(cfg["train"].get("grey", 0.0))


def export_order(cfg: dict, order: str | None) -> str:
    """The family the exported model codes in. An order-agnostic net codes in any: dispersed unless told for
    a plain OA-ARDM, where dispersed orders were measured to code smaller (docs/how-it-works.md, Generation
    orders); random for a depth-upscaling one. A net trained on the coder's calls codes only in the family it
    trained in."""
    trained = trained_order(cfg)
    if trained_plans(cfg) is None:
        if order is None:
            return DISPERSED if cfg["net"].get("branching", 256) == 256 else RANDOM
        return check_family(order)
    if order not in (None, trained):
        raise ValueError(f"the run trained in {trained} orders: its model codes only in them, not in {order} ones")
    return trained


def choose_weights(run_dir: Path, selection: np.ndarray) -> tuple[str, str]:
    """Pick EMA or the last step's weights by the run's own objective on training images (the order-agnostic
    bound, or the code length of the calls it trained on), so no test image decides.

    Returns the choice and a sentence with both figures for the model file.
    """
    cfg = json.loads((run_dir / "config.json").read_text())
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    net = ARDMNet(NetConfig.from_dict(cfg["net"]))
    order, plans, grey, bounds = trained_order(cfg), trained_plans(cfg), trained_grey(cfg), {}
    for name, key in (("ema", "ema"), ("raw", "net")):
        net.load_state_dict(state[key])
        bounds[name] = evaluate(net, _nchw(selection), family=order, plans=plans, grey=grey)
    choice = min(bounds, key=bounds.get)
    measure = "code length at the trained budgets" if plans else "bound"
    return choice, (f"chosen on {len(selection)} CIFAR-10 training images in {order} orders: {measure} "
                    f"{bounds['ema']:.4f} (EMA) vs {bounds['raw']:.4f} (last step) bits/dim")


def export(run_dir: Path, out: Path, weights: str = "ema", calibration: np.ndarray | None = None,
           selection: np.ndarray | None = None, order: str | None = None) -> str:
    """Write the model file from the run's EMA (or raw, the last step's) weights; returns its sha256.

    order: the generation order family its files are coded in (orders.py; ``export_order``).

    calibration: (N, H, W, 3) uint8 training images on which to measure the planner's L_t for the
    exported weights (``calibrate.py``; in random orders: in a fixed family the mean over hidden sub-pixels
    is not the cost of those coded next, the planner's L_t); without them the training run's tracker is used.
    A run on the coder's calls ships the L_t they were planned on.
    selection: training images on which ``weights="best"`` chooses between EMA and raw.
    """
    cfg = json.loads((run_dir / "config.json").read_text())
    order = export_order(cfg, order)
    chosen_by = None
    if weights == "best":
        if selection is None:
            raise ValueError("weights='best' needs selection images")
        weights, chosen_by = choose_weights(run_dir, selection)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    net = ARDMNet(NetConfig.from_dict(cfg["net"]))
    net.load_state_dict(state["ema" if weights == "ema" else "net"])
    tracker, plans, grey = state["tracker"], trained_plans(cfg), trained_grey(cfg)
    if plans is not None:
        if calibration is not None:
            raise ValueError("the run trained on the calls planned on its L_t: its model keeps that L_t (no calibration)")
        step_loss, seen = list(plans.step_loss), [True] * len(plans.step_loss)
        source = f"the L_t the run's training planned its calls on, budgets {plans.budgets[0]} to {plans.budgets[1]}"
    elif calibration is None:
        step_loss, seen, source = tracker["values"].tolist(), [bool(v) for v in tracker["seen"]], "training tracker"
    else:
        step_loss = step_loss_profile(net, _nchw(calibration), len(tracker["values"]))
        seen, source = [True] * len(step_loss), f"measured on {len(calibration)} training images"
    info = {
        "objective": _objective(net.config, cfg, plans, grey),
        "train_steps": int(state["step"]),
        "weights": ("EMA of the training weights" if weights == "ema" else "the last training step's weights")
                   + (f" ({chosen_by})" if chosen_by else ""),
        "batch": cfg["train"]["batch"],
        "train_data": train_data_text(trained_images(state), photos=cfg["train"].get("photos", 0.0),
                                      crop=cfg["train"].get("crop", 0)),
        "step_loss_bits": [round(float(v), 4) for v in step_loss],  # L_t per visible-fraction bin
        "step_loss_seen": seen,
        "step_loss_source": source,
        "schedule": PLANNED,
        "order": order,
    }
    if net.config.branching != 256:
        info["stage_budgets"] = PLANNED
    save_model(out, IntegerARDMNet.from_float(net), info)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def _objective(net: NetConfig, cfg: dict, plans, grey: float) -> str:
    """The model card's one line on what the weights were trained on."""
    model = "ARDM" if net.branching == 256 else f"depth-upscaling ARDM, branching {net.branching}"
    if plans is not None:
        text = (f"{model}{'' if net.branching == 256 else ','} trained on the coder's calls in {trained_order(cfg)} "
                f"orders at budgets {plans.budgets[0]} to {plans.budgets[1]}")
    else:
        text = "order-agnostic ARDM (uniform t, random order)" if net.branching == 256 else model
    return text + f", {net.head} head" + (f", {grey:.0%} of each batch as grey planes" if grey else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--weights", choices=["ema", "raw", "best"], default="ema",
                   help="best: the lower bound on --select N training images (needs --data-dir)")
    p.add_argument("--select", type=int, default=500, metavar="N")
    p.add_argument("--calibrate", type=int, default=0, metavar="N",
                   help="measure L_t on N CIFAR-10 training images (needs --data-dir) instead of the tracker's")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--order", choices=FAMILIES,
                   help="generation order family of the model's files (default: the run's own, dispersed for "
                        "an order-agnostic run)")
    a = p.parse_args()
    calibration = selection = None
    if a.calibrate or a.weights == "best":
        if a.data_dir is None:
            p.error("--calibrate and --weights best need --data-dir")
        torch.set_num_threads(1)
        train = cifar10_train(a.data_dir)
        if a.calibrate:
            calibration = train[np.random.default_rng(0).choice(len(train), a.calibrate, replace=False)]
        if a.weights == "best":
            selection = train[np.random.default_rng(1).choice(len(train), a.select, replace=False)]
    print(export(a.run_dir, a.out, a.weights, calibration, selection, a.order))


if __name__ == "__main__":
    main()
