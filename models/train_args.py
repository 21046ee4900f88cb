"""The command-line options the training mains share (train, train_flow, train_ddf), stated once.

Each main adds its shared options, then its own, then parses with ``parse`` (which adds ``--device`` last
and sets torch's threads), so every main's options keep their order in ``--help``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from . import distributed


RUN_OPTIONS: list[tuple[str, dict]] = [  # beyond data, run folder, threads and learning rate
    ("--minutes", {"type": float, "default": 60.0}),
    ("--batch", {"type": int, "default": 32, "help": "images per step (under torchrun, per process)"}),
    ("--compile", {"action": "store_true", "help": "run the network through torch.compile"}),
    ("--photos", {"type": float, "default": 0.0,
                  "help": "share of each batch drawn from the natural-photo crops (DATA_DIR/photos; 1: photos only); "
                          "the run is then evaluated on the photo validation crops"}),
    ("--crop", {"type": int, "default": 0,
                "help": "train on random crops of this side (needed to mix CIFAR-10 and photos; for a flow a multiple "
                        "of 2**levels)"}),
    ("--eval-minutes", {"type": float,
                        "help": "minutes between evaluations of the EMA weights on the test images (default: the "
                                "trainer's)"}),
]


def add_run_options(p: argparse.ArgumentParser, threads: int, lr: float) -> None:
    """Data, run folder, time, threads, batch, learning rate, photos and crops: what every run of
    ``run_loop.run`` takes."""
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, help="the run's folder: checkpoint, config and log (required to train)")
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--lr", type=float, default=lr)
    for flag, options in RUN_OPTIONS:
        p.add_argument(flag, **options)


def add_flow_options(p: argparse.ArgumentParser, model_example: str) -> None:
    """The flows' training data (images or label maps) and model config as JSON."""
    p.add_argument("--data", default="cifar10", help="cifar10, or cifar10-rgb8 (8-class label maps)")
    p.add_argument("--model", type=json.loads, default={},
                   help=f"model config as JSON, e.g. '{model_example}'")


def run_fields(a: argparse.Namespace) -> dict:
    """The RunConfig fields every main takes from its shared options."""
    fields = {"batch": a.batch, "lr": a.lr, "compile": a.compile, "photos": a.photos, "crop": a.crop}
    if a.eval_minutes is not None:
        fields["eval_every_s"] = 60 * a.eval_minutes
    return fields


def parse(p: argparse.ArgumentParser) -> argparse.Namespace:
    p.add_argument("--device", default="cpu", help="cpu or cuda (training only; coding always runs the exact CPU path)")
    a = p.parse_args()
    if a.out is None and not getattr(a, "benchmark", None):
        p.error("the following arguments are required: --out")
    torch.set_num_threads(a.threads)
    return a


def log(line: str) -> None:
    """A training main's log: each line at once, as a run in the background is followed through its log file;
    under torchrun, process 0's only."""
    if distributed.current().main:
        print(line, flush=True)
