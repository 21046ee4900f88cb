"""Train a Discrete Denoising Flow layer by layer: ``python -m ardmzip.models.train_ddf --data-dir ../shared/data --out runs/ddf``.

As in the paper, each net is trained alone on a plain cross-entropy, with no gradient through a sort:
coupling i's net learns to predict x2 from x1, then, frozen, ranks x2 through its exact integer twin,
and split prior i's net learns to predict those ranks from x1. The top prior is fitted from class
counts. Every net is one run of the shared loop (``run_loop.py``: EMA, checkpoints, resume with the
same data order) in its own folder, ``coupling<i>`` and ``split<i>``; running the same command again
skips the finished nets and resumes the current one, so an interrupted run ends with the same weights.
Training data: CIFAR-10 train only, randomly flipped, as images or as label maps (``--data``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from . import distributed, train_args
from .data import TRAIN_IMAGES, cifar10_train, training_view
from .ddf import FAMILY, DDFConfig, FloatDDF, split_raw
from .run_loop import FamilyRun, RunConfig, run, to_nchw, trained_images

LN2 = 0.6931471805599453
TOP = "top.pt"


@dataclass
class DDFTrainConfig(RunConfig):
    lr: float = 1e-3
    total_steps: int = 2000  # per net
    ema: float = 0.995  # each net trains a few thousand steps: 0.999 would still hold ~10% of its initial weights
    eval_every_s: float = 300.0
    data: str = "cifar10"  # or "cifar10-rgb8": label maps (data.training_view)


def nets(flow: FloatDDF) -> list[tuple[str, int, torch.nn.Module]]:
    """(folder, coupling index, net) in training order: each coupling, then its split prior."""
    return [(f"{kind}{i}", i, net) for i in range(len(flow.couplings))
            for kind, net in (("coupling", flow.couplings[i]), ("split", flow.splits[i]))]


def finished_weights(folder: Path, steps: int) -> dict | None:
    """A net's EMA weights once its run has reached its steps, else None."""
    ckpt = folder / "checkpoint.pt"
    if not ckpt.exists():
        return None
    state = torch.load(ckpt, weights_only=True, map_location="cpu")
    return state["ema"] if state["step"] >= steps else None


def _family(flow: FloatDDF, kind: str, i: int, view) -> FamilyRun:
    """One net's loss (bits per coded value) and test figure (bits per dimension of the whole array)."""
    net = flow.couplings[i] if kind == "coupling" else flow.splits[i]
    exact = flow.exact_coupling(i) if kind == "split" else None

    def nll(x: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
        x1, x2 = split_raw(flow.cfg, view(x).long())[0][i]
        if exact is None:
            return -flow.coupling_log_prob(i, x1, x2, model)
        y = exact.ranks(x1.cpu(), x2.cpu()).to(x.device)
        return -flow.split_log_prob(i, x1, y, model)

    def loss(call, x: torch.Tensor, gen: torch.Generator, shard: slice) -> torch.Tensor:
        return nll(x[shard], call).mean() / LN2  # every shard holds as many values

    @torch.no_grad()
    def evaluate(ema: torch.nn.Module, images: torch.Tensor) -> float:
        device = next(ema.parameters()).device
        total = sum(nll(images[j:j + 100].to(device), ema).sum().item() for j in range(0, len(images), 100))
        return total / (LN2 * view(images[:1]).numel() * len(images))

    return FamilyRun(net, loss, evaluate)


def fit_top(flow: FloatDDF, train_x, view, batch: int = 1000) -> torch.Tensor:
    """Class counts (top channels, K) of the top channels over the training set."""
    counts = torch.zeros(flow.cfg.top_channels, flow.cfg.classes, dtype=torch.int64)
    for j in range(0, len(train_x), batch):
        _, top = split_raw(flow.cfg, view(to_nchw(train_x[j:j + batch])).long())
        counts += torch.nn.functional.one_hot(top, flow.cfg.classes).sum((0, 2, 3))
    return counts


def train(model_config: dict, data_dir: Path, out: Path, cfg: DDFTrainConfig, minutes: float, log=print,
          device: str = "cpu", max_steps: int | None = None) -> bool:
    """Train what is left of the flow in `out`, for at most `minutes` (and `max_steps` steps, an interruption
    at a chosen point); returns whether every net is trained and the top prior fitted."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / "config.json").exists():  # the run's own config wins: a resumed run must be the same model
        saved = json.loads((out / "config.json").read_text())
        model_config, cfg = saved["model"], DDFTrainConfig(**saved["train"])
    model_config = DDFConfig.from_dict(model_config).to_dict()
    if cfg.photos or cfg.crop:
        raise ValueError("a DDF trains on whole CIFAR-10 images (its top prior counts their classes)")
    config_json = {"family": FAMILY, "model": model_config, "train": asdict(cfg)}
    world, _ = distributed.start(device)
    world.wait()  # every process has read the saved config before the writer rewrites it
    if world.main:
        (out / "config.json").write_text(json.dumps(config_json, indent=1))
    world.wait()
    torch.manual_seed(cfg.seed)
    flow = FloatDDF(DDFConfig.from_dict(model_config))
    view = training_view(cfg.data)
    deadline = time.time() + minutes * 60
    steps_left = max_steps
    for index, (folder, i, net) in enumerate(nets(flow)):
        done = finished_weights(out / folder, cfg.total_steps)
        if done is None:
            left = deadline - time.time()
            if left <= 0 or steps_left == 0:
                return False
            kind = folder.rstrip("0123456789")
            before = _steps(out / folder)
            stop = None if steps_left is None else before + steps_left
            run(_family(flow, kind, i, view), data_dir, out / folder, replace(cfg, seed=cfg.seed + index),
                config_json, left / 60, log, device, stop_step=stop)
            if steps_left is not None:
                steps_left -= _steps(out / folder) - before
            done = finished_weights(out / folder, cfg.total_steps)
            if done is None:
                return False
            log(f"{folder} trained")
        net.load_state_dict(done)  # frozen: the next nets see what the exact model will compute
        net.cpu()
    if world.main and not (out / TOP).exists():
        counts = fit_top(flow, cifar10_train(data_dir), view)
        tmp = out / (TOP + ".tmp")
        torch.save({"counts": counts}, tmp)
        tmp.replace(out / TOP)
    world.wait()
    return True


def _steps(folder: Path) -> int:
    ckpt = folder / "checkpoint.pt"
    return int(torch.load(ckpt, weights_only=True, map_location="cpu")["step"]) if ckpt.exists() else 0


def load_trained(out: Path) -> tuple[dict, FloatDDF, float, int]:
    """A finished run's config, its float flow with every net's EMA weights and the top prior, its minutes,
    and the fewest training images any of its nets saw."""
    saved = json.loads((out / "config.json").read_text())
    flow = FloatDDF(DDFConfig.from_dict(saved["model"]))
    minutes, images = 0.0, TRAIN_IMAGES
    for folder, _, net in nets(flow):
        state = torch.load(out / folder / "checkpoint.pt", weights_only=True, map_location="cpu")
        net.load_state_dict(state["ema"])
        minutes += float(state.get("minutes", 0.0))
        images = min(images, trained_images(state))
    flow.fit_top(torch.load(out / TOP, weights_only=True)["counts"])
    return saved, flow, minutes, images


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    train_args.add_run_options(p, threads=1, lr=1e-3)
    p.add_argument("--steps", type=int, default=2000, help="training steps per net")
    train_args.add_flow_options(p, '{"classes": 8, "channels": 1, "scoring": "categorical"}')
    a = train_args.parse(p)
    cfg = DDFTrainConfig(**train_args.run_fields(a), total_steps=a.steps, data=a.data)
    complete = train(a.model, a.data_dir, a.out, cfg, a.minutes, log=train_args.log, device=a.device)
    train_args.log("all nets trained" if complete else "stopped before the end: run the same command again to go on")


if __name__ == "__main__":
    main()
