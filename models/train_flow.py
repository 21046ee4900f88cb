"""Train a discrete flow: ``python -m ardmzip.models.train_flow --family idf --data-dir ../shared/data --out runs/idf``.

Same conventions as ARDM training (``train.py``): CIFAR-10 train only, random horizontal flips, an EMA
of the weights, ``checkpoint.pt`` written every few minutes, and a run started again with the same
directory resumes with the same data order. The loss is -log2 p(x) per dimension under the flow's
priors, its roundings straight-through and its nets fake-quantized as the exact twin computes them.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from .data import cifar10_test, cifar10_train, spread_subset
from .discrete_flow import FAMILY as DF_FAMILY, DiscreteFlow
from .flow_files import FAMILIES
from .idf import FAMILY as IDF_FAMILY, IDF
from .train import lr_at, optimize, to_nchw, training_batch

LN2 = 0.6931471805599453
FLOAT_MODELS = {IDF_FAMILY: IDF, DF_FAMILY: DiscreteFlow}  # the trainable model of each family


@dataclass
class FlowTrainConfig:
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 200
    total_steps: int = 100_000
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema: float = 0.999
    seed: int = 0
    eval_images: int = 500
    eval_every_s: float = 300.0
    checkpoint_every_s: float = 180.0
    crop: int = 0  # train on random crops of this side (0: whole images); the flows are convolutional


def make_flow(family: str, model_config: dict) -> torch.nn.Module:
    config_cls, _ = FAMILIES[family]
    return FLOAT_MODELS[family](config_cls.from_dict(model_config))


def bits_per_dim(flow: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return -flow.log_prob(x) / (x[0].numel() * LN2)


@torch.no_grad()
def evaluate(flow: torch.nn.Module, images: torch.Tensor, batch: int = 100) -> float:
    device = next(flow.parameters()).device
    return torch.cat([bits_per_dim(flow, images[i:i + batch].to(device)).cpu()
                      for i in range(0, len(images), batch)]).mean().item()


def train(family: str, model_config: dict, data_dir: Path, out: Path, cfg: FlowTrainConfig, minutes: float,
          log=print, device: str = "cpu") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    torch.manual_seed(cfg.seed)
    if ckpt_path.exists():  # the run's own config wins: a resumed run must be the same model
        saved = json.loads((out / "config.json").read_text())
        family, model_config = saved["family"], saved["model"]
    flow = make_flow(family, model_config).to(device)
    ema = copy.deepcopy(flow).requires_grad_(False)
    opt = torch.optim.Adam(flow.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, minutes_before = 0, 0.0
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        flow.load_state_dict(state["net"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"].cpu())
        step, minutes_before = int(state["step"]), float(state.get("minutes", 0.0))
        log(f"resumed from step {step} ({minutes_before:.1f} min trained)")
    (out / "config.json").write_text(json.dumps({"family": family, "model": model_config, "train": asdict(cfg)}, indent=1))
    train_x = cifar10_train(data_dir)
    test_x = cifar10_test(data_dir)
    test_imgs = to_nchw(test_x[spread_subset(len(test_x), cfg.eval_images)])
    start = time.time()

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"net": flow.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "gen": gen.get_state(), "step": step, "minutes": minutes_before + (time.time() - start) / 60}, tmp)
        tmp.replace(ckpt_path)

    last_ckpt = last_eval = start
    running = None
    with (out / "log.jsonl").open("a") as logf:
        while step < cfg.total_steps and time.time() - start < minutes * 60:
            x = training_batch(train_x, step, cfg, gen, device)
            if cfg.crop:
                i, j = torch.randint(0, x.shape[2] - cfg.crop + 1, (2,), generator=gen).tolist()
                x = x[:, :, i:i + cfg.crop, j:j + cfg.crop]
            loss = bits_per_dim(flow, x).mean()
            optimize(flow, ema, opt, loss, step, cfg)
            step += 1
            running = loss.item() if running is None else 0.99 * running + 0.01 * loss.item()
            now = time.time()
            if step % 100 == 0:
                log(f"step {step} train_bpd {running:.4f} lr {lr_at(step, cfg):.2e} "
                    f"elapsed {minutes_before + (now - start) / 60:.1f} min")
            if now - last_eval > cfg.eval_every_s:
                test_bpd = evaluate(ema, test_imgs)
                rec = {"step": step, "train_bpd": running, "test_bpd_ema": test_bpd,
                       "minutes": minutes_before + (now - start) / 60, "time": now}
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
    p.add_argument("--family", choices=sorted(FLOAT_MODELS), default="idf")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--total-steps", type=int, default=100_000)
    p.add_argument("--crop", type=int, default=0, help="train on random crops of this side (a multiple of 2**levels)")
    p.add_argument("--model", type=json.loads, default={},
                   help='model config as JSON, e.g. \'{"levels": 3, "couplings": 4, "width": 48}\'')
    p.add_argument("--device", default="cpu", help="cpu or cuda (training only; coding always runs the exact CPU path)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    config_cls, _ = FAMILIES[a.family]
    model_config = config_cls.from_dict(a.model).to_dict()
    cfg = FlowTrainConfig(batch=a.batch, lr=a.lr, total_steps=a.total_steps, crop=a.crop)
    train(a.family, model_config, a.data_dir, a.out, cfg, a.minutes, log=lambda s: print(s, flush=True),
          device=a.device)


if __name__ == "__main__":
    main()
