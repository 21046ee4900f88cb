"""Train an OA-ARDM: ``python -m ardmzip.models.train --data-dir ../shared/data --out runs/ardm``.

Resumable: the run directory holds ``checkpoint.pt`` (model, EMA, optimizer, tracker, step) written
every few minutes; starting again with the same directory continues from it with the same data order.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .ardm_net import ARDMNet, NetConfig
from .data import cifar10_test, cifar10_train, spread_subset
from .objective import training_loss

LOSS_BINS = 256  # per-step loss L_t tracked on this grid of visible fractions (the planner's input)


@dataclass
class TrainConfig:
    batch: int = 32
    lr: float = 2e-3
    warmup: int = 200
    min_lr_ratio: float = 0.05
    total_steps: int = 100_000
    grad_clip: float = 1.0
    ema: float = 0.999
    seed: int = 0
    eval_images: int = 500
    eval_every_s: float = 600.0
    checkpoint_every_s: float = 180.0
    net: NetConfig = field(default_factory=NetConfig)


class StepLossTracker:
    """EMA of the per-step loss L_t (bits per hidden dimension) over bins of the visible fraction."""

    def __init__(self, bins: int = LOSS_BINS, momentum: float = 0.99):
        self.values = torch.full((bins,), 8.0, dtype=torch.float64)
        self.seen = torch.zeros(bins, dtype=torch.bool)
        self.momentum = momentum

    def update(self, t: torch.Tensor, d: int, step_bits: torch.Tensor) -> None:
        bins = (t * len(self.values)) // d
        for b, v in zip(bins.tolist(), step_bits.tolist()):
            if self.seen[b]:
                self.values[b] = self.momentum * self.values[b] + (1 - self.momentum) * v
            else:
                self.values[b], self.seen[b] = v, True

    def state_dict(self) -> dict:
        return {"values": self.values, "seen": self.seen}

    def load_state_dict(self, s: dict) -> None:
        self.values, self.seen = s["values"].cpu(), s["seen"].cpu()


class LrSchedule(Protocol):
    """What the learning-rate schedule reads from a training config (ARDM and flow runs alike)."""

    lr: float
    warmup: int
    total_steps: int
    min_lr_ratio: float


def lr_at(step: int, cfg: LrSchedule) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio * lr at total_steps."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.total_steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


def batch_indices(step: int, n: int, batch: int, seed: int) -> np.ndarray:
    """Deterministic epoch-wise shuffling, so a resumed run sees the same data order."""
    per_epoch = n // batch
    epoch, pos = divmod(step, per_epoch)
    perm = np.random.RandomState(seed + epoch).permutation(n)
    return perm[pos * batch:(pos + 1) * batch]


@torch.no_grad()
def evaluate(net: ARDMNet, images: torch.Tensor, draws: int = 2, batch: int = 100) -> float:
    """Test bpd under fixed (t, order) draws, so successive evaluations are comparable."""
    g = torch.Generator().manual_seed(1234)
    total = []
    for _ in range(draws):
        for i in range(0, len(images), batch):
            x = images[i:i + batch].to(next(net.parameters()).device)
            total.append(training_loss(net, x, g).bpd.cpu())
    return torch.cat(total).mean().item()


class StepConfig(LrSchedule, Protocol):
    """What one optimization step reads from a training config (ARDM and flow runs alike)."""

    batch: int
    seed: int
    grad_clip: float
    ema: float


def training_batch(train_x: np.ndarray, step: int, cfg: StepConfig, gen: torch.Generator,
                   device: str) -> torch.Tensor:
    """The step's images (a fixed order per seed, so a resumed run sees the same ones), randomly flipped."""
    idx = batch_indices(step, len(train_x), cfg.batch, cfg.seed)
    x = to_nchw(train_x[idx]).to(device)
    flip = (torch.rand(len(idx), generator=gen) < 0.5).to(device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def optimize(net: torch.nn.Module, ema: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor,
             step: int, cfg: StepConfig) -> None:
    """One Adam step at the schedule's learning rate with clipped gradients, then the EMA update."""
    for group in opt.param_groups:
        group["lr"] = lr_at(step, cfg)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
    opt.step()
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), net.parameters()):
            pe.lerp_(p, 1 - cfg.ema)


def to_nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def train(data_dir: Path, out: Path, cfg: TrainConfig, minutes: float, log=print, device: str = "cpu",
          init_from: Path | None = None) -> Path:
    """init_from: another run's checkpoint whose last weights start a new run (for example an upscaling
    model fine-tuned from an order-agnostic one); ignored when `out` already has a checkpoint."""
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    torch.manual_seed(cfg.seed)
    net = ARDMNet(cfg.net).to(device)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    tracker = StepLossTracker()
    step = 0
    gen = torch.Generator().manual_seed(cfg.seed)
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        tracker.load_state_dict(state["tracker"])
        gen.set_state(state["gen"].cpu())
        step = int(state["step"])
        log(f"resumed from step {step}")
    elif init_from is not None:
        start_weights = torch.load(init_from, weights_only=True, map_location=device)["net"]
        net.load_state_dict(start_weights)
        ema.load_state_dict(start_weights)
        log(f"initialized from {init_from}")
    train_x = cifar10_train(data_dir)
    test_x = cifar10_test(data_dir)
    test_imgs = to_nchw(test_x[spread_subset(len(test_x), cfg.eval_images)])
    (out / "config.json").write_text(json.dumps({"train": {k: v for k, v in cfg.__dict__.items() if k != "net"},
                                                 "net": cfg.net.to_dict()}, indent=1))

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "tracker": tracker.state_dict(), "gen": gen.get_state(), "step": step}, tmp)
        tmp.replace(ckpt_path)

    start = time.time()
    last_ckpt = last_eval = start
    running = None
    with (out / "log.jsonl").open("a") as logf:
        while step < cfg.total_steps and time.time() - start < minutes * 60:
            x = training_batch(train_x, step, cfg, gen, device)
            res = training_loss(net, x, gen)
            loss = res.bpd.mean()
            optimize(net, ema, opt, loss, step, cfg)
            tracker.update(res.step, res.steps, res.step_bits.detach())
            step += 1
            running = loss.item() if running is None else 0.99 * running + 0.01 * loss.item()
            now = time.time()
            if step % 100 == 0:
                log(f"step {step} train_bpd {running:.4f} lr {lr_at(step, cfg):.2e} "
                    f"elapsed {(now - start) / 60:.1f} min")
            if now - last_eval > cfg.eval_every_s:
                test_bpd = evaluate(ema, test_imgs)
                rec = {"step": step, "train_bpd": running, "test_bpd_ema": test_bpd, "time": now}
                logf.write(json.dumps(rec) + "\n")
                logf.flush()
                log(f"eval step {step} test_bpd(ema) {test_bpd:.4f}")
                last_eval = time.time()
            if now - last_ckpt > cfg.checkpoint_every_s:
                save()
                last_ckpt = now
    save()
    return ckpt_path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--total-steps", type=int, default=100_000)
    p.add_argument("--width", type=int, default=NetConfig.width)
    p.add_argument("--dilations", type=str, default=",".join(map(str, NetConfig.dilations)))
    p.add_argument("--head", choices=["categorical", "logistic-mixture"], default=NetConfig.head)
    p.add_argument("--mixtures", type=int, default=NetConfig.mixtures)
    p.add_argument("--branching", type=int, default=NetConfig.branching,
                   help="depth-upscaling ARDM with this many values per digit (2, 4, 16); 256 = order-agnostic")
    p.add_argument("--init-from", type=Path, help="start from the last weights of another run's checkpoint.pt")
    p.add_argument("--device", default="cpu", help="cpu or cuda (training only; coding always runs the exact CPU path)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    net_cfg = NetConfig(width=a.width, dilations=tuple(int(v) for v in a.dilations.split(",")),
                        head=a.head, mixtures=a.mixtures, branching=a.branching)
    cfg = TrainConfig(batch=a.batch, lr=a.lr, total_steps=a.total_steps, net=net_cfg)
    train(a.data_dir, a.out, cfg, a.minutes, log=lambda s: print(s, flush=True), device=a.device,
          init_from=a.init_from)


if __name__ == "__main__":
    main()
