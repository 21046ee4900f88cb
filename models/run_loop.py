"""The training loop every model family shares: resumable checkpoints, an EMA, periodic test evaluation.

A family supplies its network and how a batch of CIFAR-10 training images becomes a loss; the loop
owns the data order, the optimizer, the clock and ``checkpoint.pt``, so that a run started again with
the same directory continues from exactly the state it stopped in. The images live on the training
device and every random draw comes from a generator there; the host reads a value back only to log,
so a GPU is never kept waiting for the CPU. Under torchrun each process trains its shard of every batch
(``distributed.py``).
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .data import TRAIN_IMAGES, cifar10_test, cifar10_train, photo_train, photo_val, spread_subset
from .distributed import World, start as start_world, wrap


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
    log_every: int = 100  # steps between the log's lines, the only times a step's loss is read back
    photos: float = 0.0  # share of each batch drawn from the natural-photo crops (1: photos only; data.photo_train)
    crop: int = 0  # train on random crops of this side (0: whole images; needed to mix 32x32 and 64x64 sources)
    compile: bool = False  # run the network through torch.compile


@dataclass
class FamilyRun:
    """What a model family hands the loop.

    loss: (network call, global batch of uint8 NCHW images, generator, this process's shard of the batch) ->
        this process's loss in bits/dim, its examples' sum over the shard's size; all draws for the whole batch
        from the generator, so that every process draws alike; it may update ``state``.
    evaluate: (EMA network, test images) -> bits/dim.
    state: further objects with state_dict/load_state_dict kept in the checkpoint (an L_t tracker).
    draw: (global batch, generator) -> the step's draws and network inputs alone, what the throughput
        benchmark times apart from the network.
    """

    net: torch.nn.Module
    loss: Callable[[Callable[..., torch.Tensor], torch.Tensor, torch.Generator, slice], torch.Tensor]
    evaluate: Callable[[torch.nn.Module, torch.Tensor], float]
    state: dict[str, Any] = field(default_factory=dict)
    draw: Callable[[torch.Tensor, torch.Generator], Any] | None = None


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
    return _permutation(n, seed + epoch)[pos * batch:(pos + 1) * batch]


@lru_cache(maxsize=2)
def _permutation(n: int, seed: int) -> np.ndarray:
    return np.random.RandomState(seed).permutation(n)


def to_nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def training_batch(sources: list[tuple[torch.Tensor, int]], step: int, seed: int, gen: torch.Generator,
                   crop: int = 0) -> torch.Tensor:
    """The step's images (a fixed order per seed and source, so a resumed run sees the same ones): from each
    source (N, H, W, C) uint8 on the generator's device its count per batch, randomly cropped to `crop`, then
    randomly flipped, all drawn on the device."""
    parts = []
    for k, (images, count) in enumerate(sources):
        if count:
            idx = torch.from_numpy(batch_indices(step, len(images), count, seed + 7919 * k)).to(images.device)
            x = images[idx].permute(0, 3, 1, 2).contiguous()  # NCHW in memory too, as the convolutions expect
            parts.append(random_crops(x, crop, gen) if crop else x)
    x = torch.cat(parts)
    flip = torch.rand(len(x), generator=gen, device=gen.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def random_crops(x: torch.Tensor, side: int, gen: torch.Generator) -> torch.Tensor:
    """A square of `side` at a random place of each image (B, C, H, W), drawn on the generator's device."""
    b, c, h, w = x.shape
    top = torch.randint(0, h - side + 1, (b,), generator=gen, device=gen.device)
    left = torch.randint(0, w - side + 1, (b,), generator=gen, device=gen.device)
    span = torch.arange(side, device=x.device)
    rows = (top.to(x.device).view(-1, 1) + span).view(b, 1, side, 1)
    cols = (left.to(x.device).view(-1, 1) + span).view(b, 1, 1, side)
    return x[torch.arange(b, device=x.device).view(b, 1, 1, 1), torch.arange(c, device=x.device).view(1, c, 1, 1),
             rows, cols]


def training_sources(data_dir: Path, cfg: RunConfig, batch: int, device: str,
                     log: Callable[[str], None] = print) -> tuple[list[tuple[torch.Tensor, int]], int]:
    """The training images resident on `device` with each source's count in a batch of `batch`, and how many
    CIFAR-10 images there are (what a card reports). Mixed sources must be cropped to one size."""
    photos = round(cfg.photos * batch)
    if not 0.0 <= cfg.photos <= 1.0:
        raise ValueError(f"the photo share is a fraction from 0 to 1, not {cfg.photos}")
    sources, cifar_images = [], 0
    if photos < batch:
        train = cifar10_train(data_dir)
        cifar_images = len(train)
        if cifar_images < TRAIN_IMAGES:
            log(f"training on {cifar_images:,} of CIFAR-10's {TRAIN_IMAGES:,} training images (the strips in {data_dir})")
        sources.append((torch.from_numpy(train).to(device), batch - photos))
    if photos:
        sources.append((torch.from_numpy(photo_train(data_dir)).to(device), photos))
    sides = {images.shape[1] for images, _ in sources}
    if (cfg.crop and cfg.crop > min(sides)) or (not cfg.crop and len(sides) > 1):
        raise ValueError(f"--crop must be at most {min(sides)}" + ("" if cfg.crop else " to mix CIFAR-10 and photos"))
    return sources, cifar_images


def evaluation_images(data_dir: Path, cfg: RunConfig) -> torch.Tensor:
    """A run's fixed test images, (N, C, H, W) uint8: the photo validation crops when it trains on photos,
    else CIFAR-10 test images spread over the set."""
    if cfg.photos > 0:
        return to_nchw(photo_val(data_dir)[:cfg.eval_images])
    test_x = cifar10_test(data_dir)
    return to_nchw(test_x[spread_subset(len(test_x), cfg.eval_images)])


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
    an order-agnostic one; ignored when `out` already has a checkpoint. Under torchrun, cfg.batch is each
    process's share of the batch.
    """
    world, device = start_world(device)
    log = log if world.main else (lambda line: None)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    net = family.net.to(device)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    step, minutes_before = 0, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        net.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        for name, obj in family.state.items():
            obj.load_state_dict(state[name])
        step, minutes_before = int(state["step"]), float(state.get("minutes", 0.0))
        if state.get("gen_device", "cpu") == torch.device(device).type:
            gen.set_state(state["gen"].cpu())
        else:  # another kind of device draws another stream: the run goes on, not as it would have there
            gen.manual_seed(cfg.seed + step)
            log(f"draws reseeded: the checkpoint's generator was on {state.get('gen_device', 'cpu')}")
        log(f"resumed from step {step} ({minutes_before:.1f} min trained)")
    elif init_from is not None:
        source, start_weights = init_from
        net.load_state_dict(start_weights)
        ema.load_state_dict(start_weights)
        log(f"initialized from {source}")
    if world.main:
        config_json = {**config_json, "world_size": world.size}
        (out / "config.json").write_text(json.dumps(config_json, indent=1))
    model = wrap(net, world, device)
    if cfg.compile:
        model = torch.compile(model)
    sources, train_images = training_sources(data_dir, cfg, cfg.batch * world.size, device, log)
    test_imgs = evaluation_images(data_dir, cfg)
    start = time.time()

    def trained_minutes() -> float:
        return minutes_before + (time.time() - start) / 60

    def save() -> None:
        if not world.main:
            return
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    **{name: obj.state_dict() for name, obj in family.state.items()},
                    "gen": gen.get_state(), "gen_device": torch.device(device).type, "step": step,
                    "minutes": trained_minutes(), "train_images": train_images, "world_size": world.size}, tmp)
        tmp.replace(ckpt_path)

    def out_of_time() -> bool:
        """Asked of every process at the same steps, so that all stop together."""
        if world.size > 1 and step % 10:
            return False
        return world.any(time.time() - start >= minutes * 60, device)

    last_ckpt = last_eval = start
    running = None
    shard = world.shard(cfg.batch)
    with (out / "log.jsonl").open("a") if world.main else open(os.devnull, "w") as logf:
        end = cfg.total_steps if stop_step is None else min(stop_step, cfg.total_steps)
        while step < end and not out_of_time():
            x = training_batch(sources, step, cfg.seed, gen, cfg.crop)
            loss = family.loss(model, x, gen, shard)
            optimize(net, ema, opt, loss, step, cfg)
            step += 1
            running = loss.detach() if running is None else 0.99 * running + 0.01 * loss.detach()
            if step % cfg.log_every == 0:
                log(f"step {step} train_bpd {running.item():.4f} lr {lr_at(step, cfg):.2e} "
                    f"elapsed {trained_minutes():.1f} min")
            now = time.time()
            if world.main and now - last_eval > cfg.eval_every_s:
                test_bpd = family.evaluate(ema, test_imgs)
                rec = {"step": step, "train_bpd": running.item(), "test_bpd_ema": test_bpd,
                       "minutes": trained_minutes(), "time": now}
                logf.write(json.dumps(rec) + "\n")
                logf.flush()
                log(f"eval step {step} test_bpd(ema) {test_bpd:.4f}")
                last_eval = time.time()
            if now - last_ckpt > cfg.checkpoint_every_s:
                save()
                last_ckpt = now
    save()
    world.wait()
    return ckpt_path
