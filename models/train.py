"""Train an OA-ARDM: ``python -m ardmzip.models.train --data-dir ../shared/data --out runs/ardm``.

Resumable: the run directory holds ``checkpoint.pt`` (model, EMA, optimizer, tracker, step) written
every few minutes; starting again with the same directory continues from it with the same data order.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .ardm_net import ARDMNet, NetConfig, bfloat16_convs
from . import distributed, throughput, train_args
from .integer_net import float_state_dict
from .objective import CallPlans, colour_and_grey, parts_loss, prepare, training_loss
from .orders import FAMILIES, RANDOM, check_family
from .run_loop import FamilyRun, RunConfig, run, training_sources
from .serialization import load_model, model_info

LOSS_BINS = 256  # per-step loss L_t tracked on this grid of visible fractions (the planner's input)


@dataclass
class TrainConfig(RunConfig):
    net: NetConfig = field(default_factory=NetConfig)
    bfloat16: bool = False  # training steps with the convolutions in bfloat16 (ardm_net.bfloat16_convs)
    order: str = RANDOM  # orders trained in: uniformly random (order-agnostic), or one family's variants (orders.py)
    budgets: tuple[int, int] | None = None  # train on the coder's calls at these budgets (objective.CallPlans) ...
    plan_step_loss: tuple[float, ...] | None = None  # ... planned on this L_t, which the exported model then ships
    grey: float = 0.0  # fraction of each batch trained as single grey planes, the way grey, palette and alpha are coded

    def plans(self) -> CallPlans | None:
        """The calls trained on. An order family without them is refused: its loss over all hidden
        sub-pixels would be neither a code length nor what the coder asks (objective.CallPlans)."""
        if self.budgets is None:
            if self.order != RANDOM:
                raise ValueError(f"training in {self.order} orders needs budgets to train the coder's calls at")
            return None
        if self.plan_step_loss is None:
            raise ValueError("training on the coder's calls needs the L_t to plan them on")
        return CallPlans(tuple(self.plan_step_loss), tuple(self.budgets))

    def check(self) -> tuple[str, CallPlans | None]:
        """Refuse a config that cannot train before a run starts (the command line and `train` both ask);
        returns the order family and the calls it trains on."""
        family, plans = check_family(self.order), self.plans()
        if not 0.0 <= self.grey <= 1.0:
            raise ValueError(f"--grey is a fraction from 0 to 1, not {self.grey}")
        return family, plans


class StepLossTracker:
    """EMA of the per-step loss L_t (bits per hidden dimension) over bins of the visible fraction.

    A step's values fall into bins; a bin that got k of them moves to their mean with weight 1 - momentum**k
    (the first values a bin ever gets set it). Sums and counts are added over all processes of a distributed
    run before they are used, so every process keeps the same tracker as one process training the whole batch.
    """

    def __init__(self, bins: int = LOSS_BINS, momentum: float = 0.99):
        self.values = torch.full((bins,), 8.0, dtype=torch.float64)
        self.seen = torch.zeros(bins, dtype=torch.bool)
        self.momentum = momentum

    def update(self, t: torch.Tensor, d: int, step_bits: torch.Tensor) -> None:
        if self.values.device != t.device:
            self.values, self.seen = self.values.to(t.device), self.seen.to(t.device)
        bins = (t * len(self.values)) // d
        sums = torch.zeros(2, len(self.values), dtype=torch.float64, device=t.device)
        sums[0].index_add_(0, bins, step_bits.to(torch.float64))
        sums[1].index_add_(0, bins, torch.ones_like(bins, dtype=torch.float64))
        total, count = distributed.current().sum_(sums)
        got = count > 0
        mean = total / count.clamp_min(1)
        keep = torch.where(self.seen, self.momentum ** count, torch.zeros_like(count))
        self.values = torch.where(got, keep * self.values + (1 - keep) * mean, self.values)
        self.seen = self.seen | got

    def state_dict(self) -> dict:
        return {"values": self.values.cpu(), "seen": self.seen.cpu()}

    def load_state_dict(self, s: dict) -> None:
        self.values, self.seen = s["values"].cpu(), s["seen"].cpu()


@torch.no_grad()
def evaluate(net: ARDMNet, images: torch.Tensor, draws: int = 2, batch: int = 100, family: str = RANDOM,
             plans: CallPlans | None = None, grey: float = 0.0) -> float:
    """Test bpd under fixed (t, order) draws, so successive evaluations are comparable: the order-agnostic
    bound, or with `plans` the model's code length at the planned budgets; `grey` of each batch as grey planes."""
    g = torch.Generator().manual_seed(1234)
    total = []
    for _ in range(draws):
        for i in range(0, len(images), batch):
            for x in colour_and_grey(images[i:i + batch].to(next(net.parameters()).device), grey):
                total.append(training_loss(net, x, g, family=family, plans=plans).bpd.cpu())
    return torch.cat(total).mean().item()


def check_resumed_objective(out: Path, cfg: TrainConfig) -> None:
    """A resumed run keeps its objective: export reads the family and plans from the run's config."""
    saved = out / "config.json"
    if not (out / "checkpoint.pt").exists() or not saved.exists():
        return
    before = json.loads(saved.read_text())["train"]
    now = {"order": cfg.order, "budgets": cfg.budgets, "plan_step_loss": cfg.plan_step_loss, "grey": cfg.grey}
    was = {k: before.get(k, {"order": RANDOM, "grey": 0.0}.get(k)) for k in now}
    if json.loads(json.dumps(now)) != was:
        raise ValueError(f"the run in {out} trained with another objective (order, budgets, their L_t or "
                         "grey): resume it with the same --order, --train-budgets, --init-from and --grey")


def start_weights(source: Path) -> dict[str, torch.Tensor]:
    """Float weights from another run's checkpoint.pt (its last step's) or from a model file (.safetensors,
    shipped or exported), whose integer network they reproduce."""
    if source.suffix == ".safetensors":
        model = load_model(source)
        return float_state_dict(model.t, model.config)
    return torch.load(source, weights_only=True, map_location="cpu")["net"]


def family_run(cfg: TrainConfig, log=print) -> FamilyRun:
    """The ARDM's network, loss, test figure and L_t tracker as the training loop takes them."""
    family, plans = cfg.check()
    net = ARDMNet(cfg.net)
    tracker = StepLossTracker()

    def loss(call, x: torch.Tensor, gen: torch.Generator, shard: slice) -> torch.Tensor:
        parts = colour_and_grey(x, cfg.grey)
        with bfloat16_convs(net, cfg.bfloat16):
            results = parts_loss(net, parts, gen, family, plans, shard, call)
        colour = results[0] if parts[0].shape[1] == x.shape[1] else None  # the planner's L_t is colour images'
        if colour is not None:
            tracker.update(colour.step, colour.steps, colour.step_bits.detach())
        return torch.cat([r.bpd for r in results]).sum() / (shard.stop - shard.start)

    def draw(x: torch.Tensor, gen: torch.Generator) -> list[torch.Tensor]:
        return [prepare(net, part, gen, family=family, plans=plans).inputs for part in colour_and_grey(x, cfg.grey)]

    def test_bound(ema: torch.nn.Module, images: torch.Tensor) -> float:
        if not cfg.grey:
            return evaluate(ema, images, family=family, plans=plans)
        colour, grey = (evaluate(ema, images, family=family, plans=plans, grey=g) for g in (0.0, 1.0))
        log(f"test colour {colour:.4f} grey {grey:.4f} bits/dim")
        return (1 - cfg.grey) * colour + cfg.grey * grey

    return FamilyRun(net, loss, test_bound, {"tracker": tracker}, draw)


def train(data_dir: Path, out: Path, cfg: TrainConfig, minutes: float, log=print, device: str = "cpu",
          init_from: Path | None = None) -> Path:
    """init_from: a checkpoint or model file whose weights start a new run (``start_weights``)."""
    torch.manual_seed(cfg.seed)
    family = family_run(cfg, log)  # checks the config before anything is written
    check_resumed_objective(out, cfg)
    config_json = {"train": {k: v for k, v in asdict(cfg).items() if k != "net"}, "net": cfg.net.to_dict()}
    start = None if init_from is None else (str(init_from), start_weights(init_from))
    return run(family, data_dir, out, cfg, config_json, minutes, log, device, start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    train_args.add_run_options(p, threads=2, lr=2e-3)
    p.add_argument("--total-steps", type=int, default=100_000)
    p.add_argument("--width", type=int, default=NetConfig.width)
    p.add_argument("--dilations", type=str, default=",".join(map(str, NetConfig.dilations)))
    p.add_argument("--head", choices=["categorical", "logistic-mixture"], default=NetConfig.head)
    p.add_argument("--mixtures", type=int, default=NetConfig.mixtures)
    p.add_argument("--branching", type=int, default=NetConfig.branching,
                   help="depth-upscaling ARDM with this many values per digit (2, 4, 16); 256 = order-agnostic")
    p.add_argument("--bfloat16", action="store_true",
                   help="convolutions in bfloat16 in training steps (about twice as fast on CPUs with AMX or "
                        "AVX512-BF16, and on GPUs; about three times slower on a CPU without them, where torch "
                        "emulates it: check lscpu's flags); evaluation and the exported model are unaffected")
    p.add_argument("--order", choices=FAMILIES, default=RANDOM,
                   help="train in uniformly random orders (order-agnostic, the default) or in the variants of one "
                        "order family, the orders its files are coded in (fine-tuning an order-agnostic net)")
    p.add_argument("--train-budgets", metavar="LO,HI",
                   help="train on the calls the coder makes at budgets drawn log-uniformly from LO..HI, planned on "
                        "the L_t of the --init-from model file, which the exported model keeps (use with --order)")
    p.add_argument("--grey", type=float, default=0.0,
                   help="fraction of each batch trained as grey planes (Pillow's L conversion), the single planes "
                        "grey images, palette indices and alpha are coded as (0 to 1)")
    p.add_argument("--init-from", type=Path,
                   help="start from another run's checkpoint.pt (its last weights) or a model .safetensors file")
    p.add_argument("--benchmark", type=int, metavar="STEPS",
                   help="train nothing: time STEPS training steps of this configuration and print steps/s, "
                        "images/s and the share of a step spent drawing (--out is then unused)")
    a = train_args.parse(p)
    budgets = plan_loss = None
    if a.train_budgets:
        if a.init_from is None or a.init_from.suffix != ".safetensors":
            p.error("--train-budgets plans on the L_t of an --init-from model file")
        try:
            budgets = tuple(int(v) for v in a.train_budgets.split(","))
        except ValueError:
            p.error(f"--train-budgets takes LO,HI, not {a.train_budgets}")
        plan_loss = tuple(model_info(a.init_from)["step_loss_bits"])
    net_cfg = NetConfig(width=a.width, dilations=tuple(int(v) for v in a.dilations.split(",")),
                        head=a.head, mixtures=a.mixtures, branching=a.branching)
    cfg = TrainConfig(**train_args.run_fields(a), total_steps=a.total_steps, net=net_cfg, bfloat16=a.bfloat16,
                      order=a.order, budgets=budgets, plan_step_loss=plan_loss, grey=a.grey)
    try:
        cfg.check()
    except ValueError as e:
        p.error(str(e))
    if a.benchmark:
        family = family_run(cfg)  # the weights' values do not change a step's time
        sources, _ = training_sources(a.data_dir, cfg, cfg.batch, a.device)
        print(throughput.measure(family, sources, cfg, a.benchmark, a.device).line(), flush=True)
        return
    train(a.data_dir, a.out, cfg, a.minutes, log=train_args.log, device=a.device, init_from=a.init_from)


if __name__ == "__main__":
    main()
