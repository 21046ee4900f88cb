"""Train a discrete flow: ``python -m ardmzip.models.train_flow --family idf --data-dir ../shared/data --out runs/idf``.

Same conventions as ARDM training (``train.py``): CIFAR-10 train only (as images, or as 8-class label maps
with ``--data cifar10-rgb8``), random horizontal flips, an EMA
of the weights, ``checkpoint.pt`` written every few minutes, and a run started again with the same
directory resumes with the same data order. The loss is -log2 p(x) per dimension under the flow's
priors, its roundings straight-through and its nets fake-quantized as the exact twin computes them.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import train_args
from .data import training_view
from .discrete_flow import FAMILY as DF_FAMILY, DiscreteFlow
from .flow_files import FAMILIES
from .idf import FAMILY as IDF_FAMILY, IDF
from .run_loop import FamilyRun, RunConfig, run

LN2 = 0.6931471805599453
FLOAT_MODELS = {IDF_FAMILY: IDF, DF_FAMILY: DiscreteFlow}  # the trainable model of each family


@dataclass
class FlowTrainConfig(RunConfig):
    lr: float = 1e-3
    eval_every_s: float = 300.0
    data: str = "cifar10"  # or "cifar10-rgb8": label maps (data.training_view)


def make_flow(family: str, model_config: dict) -> torch.nn.Module:
    config_cls, _ = FAMILIES[family]
    return FLOAT_MODELS[family](config_cls.from_dict(model_config))


def bits_per_dim(flow: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """-log2 p(x) per dimension of each array; `flow` is called (its forward is log_prob), so a distributed
    wrapper of it serves too."""
    return -flow(x) / (x[0].numel() * LN2)


@torch.no_grad()
def evaluate(flow: torch.nn.Module, images: torch.Tensor, batch: int = 100) -> float:
    device = next(flow.parameters()).device
    return torch.cat([bits_per_dim(flow, images[i:i + batch].to(device)).cpu()
                      for i in range(0, len(images), batch)]).mean().item()


def train(family: str, model_config: dict, data_dir: Path, out: Path, cfg: FlowTrainConfig, minutes: float,
          log=print, device: str = "cpu") -> Path:
    torch.manual_seed(cfg.seed)
    if (out / "checkpoint.pt").exists():  # the run's own config wins: a resumed run must be the same model
        saved = json.loads((out / "config.json").read_text())
        family, model_config = saved["family"], saved["model"]
    flow = make_flow(family, model_config)
    view = training_view(cfg.data)

    def loss(call, x: torch.Tensor, gen: torch.Generator, shard: slice) -> torch.Tensor:
        x = view(x[shard])
        return bits_per_dim(call, x).sum() / (shard.stop - shard.start)

    config_json = {"family": family, "model": model_config, "train": asdict(cfg)}
    return run(FamilyRun(flow, loss, lambda net, images: evaluate(net, view(images))), data_dir, out, cfg,
               config_json, minutes, log, device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--family", choices=sorted(FLOAT_MODELS), default="idf")
    train_args.add_run_options(p, threads=1, lr=1e-3)
    p.add_argument("--total-steps", type=int, default=100_000)
    train_args.add_flow_options(p, '{"levels": 3, "couplings": 4, "width": 48}')
    a = train_args.parse(p)
    config_cls, _ = FAMILIES[a.family]
    model_config = config_cls.from_dict(a.model).to_dict()
    cfg = FlowTrainConfig(**train_args.run_fields(a), total_steps=a.total_steps, data=a.data)
    train(a.family, model_config, a.data_dir, a.out, cfg, a.minutes, log=train_args.log, device=a.device)


if __name__ == "__main__":
    main()
