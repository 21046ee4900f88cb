"""The training loop every model family shares: resumable checkpoints, an EMA, periodic test evaluation.

A family supplies its network and how a batch of CIFAR-10 training images becomes a loss; the loop
owns the data order, the optimizer, the clock and ``checkpoint.pt``, so that a run started again with
the same directory continues from exactly the state it stopped in.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .data import TRAIN_IMAGES, cifar10_test, cifar10_train, spread_subset


@dataclass
class RunConfig:
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


@dataclass
class FamilyRun:
    """What a model family hands the loop.

    loss: (batch of uint8 NCHW images, generator) -> scalar loss in bits/dim; it may update ``state``.
    evaluate: (EMA network, test images) -> bits/dim.
    state: further objects with state_dict/load_state_dict kept in the checkpoint (an L_t tracker).
    """

    net: torch.nn.Module
    loss: Callable[[torch.Tensor, torch.Generator], torch.Tensor]
    evaluate: Callable[[torch.nn.Module, torch.Tensor], float]
    state: dict[str, Any] = field(default_factory=dict)


def lr_at(step: int, cfg: RunConfig) -> float:
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


def to_nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def training_batch(train_x: np.ndarray, step: int, cfg: RunConfig, gen: torch.Generator,
                   device: str) -> torch.Tensor:
    """The step's images (a fixed order per seed, so a resumed run sees the same ones), randomly flipped."""
    idx = batch_indices(step, len(train_x), cfg.batch, cfg.seed)
    x = to_nchw(train_x[idx]).to(device)
    flip = (torch.rand(len(idx), generator=gen) < 0.5).to(device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def optimize(net: torch.nn.Module, ema: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor,
             step: int, cfg: RunConfig) -> None:
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


def trained_images(state: dict) -> int:
    """How many training images a checkpoint's run drew from; checkpoints from before they recorded it
    trained on the whole set."""
    return int(state.get("train_images", TRAIN_IMAGES))


def run(family: FamilyRun, data_dir: Path, out: Path, cfg: RunConfig, config_json: dict, minutes: float,
        log: Callable[[str], None] = print, device: str = "cpu",
        init_from: tuple[str, dict[str, torch.Tensor]] | None = None, stop_step: int | None = None) -> Path:
    """Train until total_steps, `minutes` of this call or stop_step (an interruption at a chosen step, which
    leaves the schedule as it is); returns the checkpoint's path.

    init_from: (where from, weights) that start a new run, for example an upscaling model fine-tuned from
    an order-agnostic one; ignored when `out` already has a checkpoint.
    """
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    net = family.net.to(device)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, minutes_before = 0, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        for name, obj in family.state.items():
            obj.load_state_dict(state[name])
        gen.set_state(state["gen"].cpu())
        step, minutes_before = int(state["step"]), float(state.get("minutes", 0.0))
        log(f"resumed from step {step} ({minutes_before:.1f} min trained)")
    elif init_from is not None:
        source, start_weights = init_from
        net.load_state_dict(start_weights)
        ema.load_state_dict(start_weights)
        log(f"initialized from {source}")
    (out / "config.json").write_text(json.dumps(config_json, indent=1))
    train_x = cifar10_train(data_dir)
    if len(train_x) < TRAIN_IMAGES:
        log(f"training on {len(train_x):,} of CIFAR-10's {TRAIN_IMAGES:,} training images (the strips in {data_dir})")
    test_x = cifar10_test(data_dir)
    test_imgs = to_nchw(test_x[spread_subset(len(test_x), cfg.eval_images)])
    start = time.time()

    def trained_minutes() -> float:
        return minutes_before + (time.time() - start) / 60

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    **{name: obj.state_dict() for name, obj in family.state.items()},
                    "gen": gen.get_state(), "step": step, "minutes": trained_minutes(),
                    "train_images": len(train_x)}, tmp)
        tmp.replace(ckpt_path)

    last_ckpt = last_eval = start
    running = None
    with (out / "log.jsonl").open("a") as logf:
        end = cfg.total_steps if stop_step is None else min(stop_step, cfg.total_steps)
        while step < end and time.time() - start < minutes * 60:
            loss = family.loss(training_batch(train_x, step, cfg, gen, device), gen)
            optimize(net, ema, opt, loss, step, cfg)
            step += 1
            running = loss.item() if running is None else 0.99 * running + 0.01 * loss.item()
            now = time.time()
            if step % 100 == 0:
                log(f"step {step} train_bpd {running:.4f} lr {lr_at(step, cfg):.2e} "
                    f"elapsed {trained_minutes():.1f} min")
            if now - last_eval > cfg.eval_every_s:
                test_bpd = family.evaluate(ema, test_imgs)
                rec = {"step": step, "train_bpd": running, "test_bpd_ema": test_bpd,
                       "minutes": trained_minutes(), "time": now}
                logf.write(json.dumps(rec) + "\n")
                logf.flush()
                log(f"eval step {step} test_bpd(ema) {test_bpd:.4f}")
                last_eval = time.time()
            if now - last_ckpt > cfg.checkpoint_every_s:
                save()
                last_ckpt = now
    save()
    return ckpt_path
