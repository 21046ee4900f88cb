"""Discrete Denoising Flows (Lindt & Hoogeboom 2021): couplings that permute classes, trained layer by layer.

The paper's image schedule with split priors: per level the array is squeezed (2x2 space to depth)
and its channels put in a fixed order, sub-pixel positions (0,0), (1,1), (0,1), (1,0) with all their
channels each. Each coupling keeps the first ceil(c/2) channels x1 and replaces every value of the
others, x2, by its rank among the K classes ordered most likely first by a net of x1 (the conditional
permutation, ``conditional_permutation.py``): invertible, since x1 passes unchanged. A split prior then
factors those ranks out under a categorical that a second net computes from x1; x1 goes on to the next
coupling. After the last level the remaining channels get a free factorized prior per channel. A good
coupling net leaves mostly small ranks ("denoised" values), which the split prior codes cheaply. The
kept channels are always raw values (the ranked ones leave at once), so with two couplings per level
the last quarter kept is the image subsampled 2x: a multiscale model, coarse part coded first.

Classes are scored two ways. ``categorical``: K logits per value, ranked by logit (for class maps,
small K). ``logistic`` (8-bit images, K = 256): one discretized logistic per value, ranked by distance
from its integer mean, its probability order but for the tails the end classes hold; the split priors
are then logistic mixtures over the ranks. Every layer trains alone on a plain cross-entropy, with no
gradient through a sort (``train_ddf.py``); the exact model runs the integer nets (``flow_net.py``),
so encoder and decoder rank and weigh identically on any machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from . import conditional_permutation as cp
from .exact_flow import ClassFlow, per_channel
from .flow_arrays import padded_input
from .flow_net import ONEHOT_MAX, IntegerResNet, QuantResNet, ResNetShape, class_inputs, prefixed, unprefixed
from .heads import CategoricalHead, LogisticMixtureHead, round_half_up
from .idf import squeeze, unsqueeze

FAMILY = "ddf"
SCORINGS = ("categorical", "logistic")
POSITIONS = (0, 3, 1, 2)  # squeezed sub-pixel positions (2 di + dj), in the order they are kept
ORDERS = ("spatial", "green-first")
PADDINGS = ("whole", "per-level")


@dataclass(frozen=True)
class DDFConfig:
    classes: int = 256
    channels: int = 3  # of the coded array: 3 for colour images, 1 for class maps
    levels: int = 4  # squeezes; each followed by `couplings` couplings, each with its split prior
    couplings: int = 2
    width: int = 32
    blocks: int = 1  # residual blocks per net
    scoring: str = "logistic"  # SCORINGS
    mixtures: int = 2  # logistic components of a split prior over ranks (scoring "logistic")
    k_sort: int = 0  # classes sorted per value; 0: all of them
    onehot: bool = False  # nets see classes one-hot (categories without an order)
    order: str = "spatial"  # ORDERS: how a level's channels are ordered (level_order)
    padding: str = "whole"  # PADDINGS: sides padded once to a multiple of 2**levels, or each level's odd side by one
    act_clip: float = 6.0

    @property
    def multiple(self) -> int:
        """With padding "whole", array sides are padded to a multiple of this (edge values, coded, cropped
        after decoding); "per-level" pads a level's odd side by one before its squeeze instead, so a small
        odd-sized array codes at most one row and column more per level, not up to 2**levels - 1."""
        return 2 ** self.levels

    def layers(self) -> list["Layer"]:
        """Every coupling, in the order the encoder applies them."""
        out, c = [], self.channels
        for level in range(self.levels):
            c *= 4
            for j in range(self.couplings):
                out.append(Layer(level, j == 0, c))
                c -= c // 2
        return out

    @property
    def top_channels(self) -> int:
        last = self.layers()[-1]
        return last.kept

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DDFConfig":
        """Refused outside sane sizes: a model file is untrusted input."""
        cfg = cls(**d)
        ints = [cfg.classes, cfg.channels, cfg.levels, cfg.couplings, cfg.width, cfg.blocks, cfg.mixtures, cfg.k_sort]
        if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and isinstance(cfg.onehot, bool)
                and 2 <= cfg.classes <= 256 and 1 <= cfg.channels <= 4 and 1 <= cfg.levels <= 6
                and 1 <= cfg.couplings <= 4 and 1 <= cfg.width <= 512 and 0 <= cfg.blocks <= 16
                and 1 <= cfg.mixtures <= 16 and 0 <= cfg.k_sort <= cfg.classes and 0 < cfg.act_clip <= 64
                and cfg.scoring in SCORINGS and (cfg.scoring == "categorical" or cfg.classes == 256)
                and cfg.order in ORDERS and (cfg.order == "spatial" or (cfg.channels, cfg.couplings) == (3, 2))
                and cfg.padding in PADDINGS
                and (not cfg.onehot or cfg.classes * cfg.channels <= ONEHOT_MAX)
                and all(layer.targets >= 1 for layer in cfg.layers())):
            raise ValueError(f"DDF config out of range: {d}")
        return cfg

    # the heads: how net outputs become class scores (couplings) and class weights (priors)

    def coupling_head(self) -> CategoricalHead | LogisticMixtureHead:
        return CategoricalHead() if self.scoring == "categorical" else LogisticMixtureHead(1)

    def split_head(self) -> CategoricalHead | LogisticMixtureHead:
        return CategoricalHead() if self.scoring == "categorical" else LogisticMixtureHead(self.mixtures)

    def params(self, head) -> int:
        """Net outputs per value under a head (a categorical has one logit per class)."""
        return self.classes if isinstance(head, CategoricalHead) else head.params

    def output_grid(self, head) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(head, CategoricalHead):
            return (torch.full((self.classes,), 1.0 / head.logit_scale, dtype=torch.float64),
                    torch.zeros(self.classes, dtype=torch.float64))
        return head.output_grid()


@dataclass(frozen=True)
class Layer:
    level: int
    first: bool  # the level's first coupling: the array was squeezed just before it
    channels: int  # raw channels entering the coupling

    @property
    def kept(self) -> int:
        return self.channels - self.channels // 2

    @property
    def targets(self) -> int:
        return self.channels // 2


def level_order(cfg: DDFConfig, channels: int) -> torch.Tensor:
    """The squeezed channels (c * 4 + position) in the order the level keeps them (the last ones are ranked first).

    "spatial": position-major, positions in POSITIONS order, so the first coupling ranks the sub-pixels
    (0,1) and (1,0) given (0,0) and (1,1), the second (1,1) given (0,0). "green-first" (RGB, two couplings):
    all of (0,0), then the green of the other three, then their red and blue; the decoder thus gets green
    from (0,0) alone, then red and blue given every green, as colour is most predictable given green."""
    c = channels // 4
    if cfg.order == "green-first":
        rest = POSITIONS[1:]
        return torch.tensor([ch * 4 for ch in range(c)] + [4 + pos for pos in rest]
                            + [ch * 4 + pos for pos in rest for ch in (0, 2)])
    return torch.tensor([ch * 4 + pos for pos in POSITIONS for ch in range(c)])


def split_raw(cfg: DDFConfig, x: torch.Tensor) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
    """(x1, x2) of every coupling and the top channels, for classes x (B, C, H, W), sides multiples of cfg.multiple.

    The couplings need not run: what they keep is raw, and what they rank leaves the flow."""
    z, pairs = x, []
    for layer in cfg.layers():
        if layer.first:
            z = squeeze(z)[:, level_order(cfg, layer.channels)]
        pairs.append((z[:, :layer.kept], z[:, layer.kept:]))
        z = z[:, :layer.kept]
    return pairs, z


def _even(z: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) with an odd side grown by a copy of its last row or column, ready to squeeze."""
    if z.shape[2] % 2:
        z = torch.cat([z, z[:, :, -1:]], 2)
    if z.shape[3] % 2:
        z = torch.cat([z, z[:, :, :, -1:]], 3)
    return z


def _values(out: torch.Tensor, params: int) -> torch.Tensor:
    """(B, T * P, h, w) net outputs -> (B, T, P, h, w)."""
    b, _, h, w = out.shape
    return out.view(b, -1, params, h, w)


@dataclass
class ExactCoupling:
    """A coupling's conditional permutation from its integer net: the same ranks on any machine."""

    cfg: DDFConfig
    net: IntegerResNet

    def keys(self, x1: torch.Tensor) -> torch.Tensor:
        """Sort keys (B, T, h, w, K) for the values ranked given x1 (B, kept, h, w)."""
        cfg = self.cfg
        head = cfg.coupling_head()
        out = _values(self.net(class_inputs(x1, cfg.classes, cfg.onehot)), cfg.params(head))
        if cfg.scoring == "categorical":
            keys = cp.logit_keys(out.movedim(2, -1))
        else:
            keys = cp.distance_keys(out[:, :, 1], cfg.classes, head.grid)  # the component's integer mean
        return cp.top_k(keys, cfg.k_sort)

    def ranks(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        if cfg.scoring == "logistic" and cfg.k_sort in (0, cfg.classes):  # the same ranks, without the keys
            head = cfg.coupling_head()
            mean = _values(self.net(class_inputs(x1, cfg.classes, cfg.onehot)), cfg.params(head))[:, :, 1]
            return cp.distance_ranks(mean, x2.long(), cfg.classes, head.grid)
        return cp.ranks(self.keys(x1), x2)

    def classes(self, x1: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cp.classes_at(self.keys(x1), y)


class FloatDDF(nn.Module):
    """The trainable nets (fake-quantized as the exact twin computes them) and the top prior's log-probabilities."""

    def __init__(self, cfg: DDFConfig = DDFConfig()):
        super().__init__()
        self.cfg = cfg
        per_class = cfg.classes if cfg.onehot else 1
        pc, ps = cfg.params(cfg.coupling_head()), cfg.params(cfg.split_head())
        self.couplings = nn.ModuleList(
            QuantResNet(ResNetShape(layer.kept * per_class, layer.targets * pc, cfg.width, cfg.blocks), cfg.act_clip)
            for layer in cfg.layers())
        self.splits = nn.ModuleList(
            QuantResNet(ResNetShape(layer.kept * per_class, layer.targets * ps, cfg.width, cfg.blocks), cfg.act_clip,
                        zero_output=cfg.scoring == "categorical")
            for layer in cfg.layers())
        if cfg.scoring == "logistic":
            for net in self.splits:  # start as a broad logistic at rank 0
                with torch.no_grad():
                    net.out.weight.mul_(0.1)
                    net.out.bias.copy_(self._initial_split_params().repeat(net.shape.outputs // ps))
        self.register_buffer("top", torch.full((cfg.top_channels, cfg.classes), -float(np.log(cfg.classes))))

    def _initial_split_params(self) -> torch.Tensor:
        m = self.cfg.mixtures
        return torch.cat([torch.zeros(m), torch.full((m,), -1.0), torch.linspace(0.0, 1.0, m)])

    def coupling_log_prob(self, i: int, x1: torch.Tensor, x2: torch.Tensor,
                          net: nn.Module | None = None) -> torch.Tensor:
        """log p(x2 | x1) in nats per value (B, T, h, w): the coupling net's cross-entropy objective.

        `net` stands in for coupling i's net (training evaluates its EMA copy)."""
        head = self.cfg.coupling_head()
        return head.log_prob(self._out(net or self.couplings[i], x1, head), x2)

    def split_log_prob(self, i: int, x1: torch.Tensor, y: torch.Tensor, net: nn.Module | None = None) -> torch.Tensor:
        """log p(ranks | x1) in nats per value (B, T, h, w) under the split prior."""
        head = self.cfg.split_head()
        return head.log_prob(self._out(net or self.splits[i], x1, head), y)

    def _out(self, net: nn.Module, x1: torch.Tensor, head) -> torch.Tensor:
        return _values(net(class_inputs(x1, self.cfg.classes, self.cfg.onehot).float()), self.cfg.params(head))

    def float_ranks(self, i: int, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """The ranks the float net's scores give (the exact model ranks by its integers instead)."""
        head = self.cfg.coupling_head()
        out = self._out(self.couplings[i], x1, head)
        if self.cfg.scoring == "categorical":
            keys = -out.movedim(2, -1)  # descending logits; ties are left to cp.ranks' class rule
        else:
            _, mean, _ = head._split(out)
            keys = (torch.arange(self.cfg.classes, device=x1.device) - mean[:, :, 0].unsqueeze(-1)).abs()
        return cp.ranks(cp.top_k(keys, self.cfg.k_sort), x2)

    def exact_coupling(self, i: int) -> "ExactCoupling":
        """Coupling i as the exact model runs it (training's split priors learn the ranks it gives)."""
        step, offset = self.cfg.output_grid(self.cfg.coupling_head())
        net = self.couplings[i]
        n = net.shape.outputs // len(step)
        tensors = {k: v.cpu() for k, v in net.integer_tensors(step.repeat(n), offset.repeat(n)).items()}
        return ExactCoupling(self.cfg, IntegerResNet(tensors, self.cfg.blocks))

    def fit_top(self, counts: torch.Tensor) -> None:
        """The top prior from class counts (top channels, K) of the training data, smoothed by half a count."""
        counts = counts.double() + 0.5
        self.top.copy_((counts / counts.sum(dim=1, keepdim=True)).log().float())

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The float bound: log p(x) in nats per array (B,), float nets ranking and weighing."""
        pairs, top = split_raw(self.cfg, x)
        logp = self.top[torch.arange(top.shape[1], device=x.device).view(1, -1, 1, 1), top.long()].sum((1, 2, 3))
        for i, (x1, x2) in enumerate(pairs):
            logp = logp + self.split_log_prob(i, x1, self.float_ranks(i, x1, x2)).sum((1, 2, 3))
        return logp

    def integer_tensors(self) -> dict[str, torch.Tensor]:
        """Everything the exact model needs: integer nets on their heads' grids, top logits, head tables."""
        cfg = self.cfg
        t: dict[str, torch.Tensor] = {}
        for name, nets, head in (("coupling", self.couplings, cfg.coupling_head()),
                                 ("split", self.splits, cfg.split_head())):
            step, offset = cfg.output_grid(head)
            for i, net in enumerate(nets):
                n = net.shape.outputs // len(step)
                t.update(prefixed(f"{name}{i}", net.integer_tensors(step.repeat(n), offset.repeat(n))))
        top_head = CategoricalHead()
        t["top"] = round_half_up(self.top.double() * top_head.logit_scale)
        t.update(prefixed("top_head", top_head.tables()))
        t.update(prefixed("split_head", cfg.split_head().tables()))
        return t


def _bits(weights: torch.Tensor, symbols: torch.Tensor) -> torch.Tensor:
    w = weights.double().clamp_min(1.0)
    return -torch.log2(w.gather(1, symbols.long().view(-1, 1)).squeeze(1) / w.sum(dim=1))


class IntegerDDF(ClassFlow):
    """The exact flow, as a bounded ``codecs.coding_model.LatentModel`` over (H, W, C) arrays of classes.

    Parts in decoding order: the top channels, then the ranks of the last coupling back to the first.
    """

    bounded = True

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: DDFConfig):
        super().__init__(tensors, cfg)
        self.layers = cfg.layers()
        n = len(self.layers)
        self.couplings = [ExactCoupling(cfg, IntegerResNet(unprefixed(f"coupling{i}", tensors), cfg.blocks))
                          for i in range(n)]
        self.splits = [IntegerResNet(unprefixed(f"split{i}", tensors), cfg.blocks) for i in range(n)]
        self.split_head, self.top_head = cfg.split_head(), CategoricalHead()
        self.split_tables = unprefixed("split_head", tensors)
        self.top_tables = unprefixed("top_head", tensors)
        self.top = tensors["top"].long()
        if self.top.shape != (cfg.top_channels, cfg.classes):
            raise ValueError("top prior has the wrong shape")

    # the exact bijection, on (B, C, h, w) int64 tensors

    def latents(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, H, W) classes -> [top, ranks of the last coupling, ..., ranks of the first]."""
        z, ys = x, []
        for i, layer in enumerate(self.layers):
            if layer.first:
                z = squeeze(_even(z))[:, level_order(self.cfg, layer.channels)]
            ys.append(self.couplings[i].ranks(z[:, :layer.kept], z[:, layer.kept:]))
            z = z[:, :layer.kept]
        return [z] + ys[::-1]

    @torch.no_grad()
    def bits(self, x: torch.Tensor) -> torch.Tensor:
        """-log2 p(x) per array (B,) for classes x (B, C, H, W), sides multiples of cfg.multiple: the coder's
        ideal code length (its unquantized integer weights, a zero weight counted as one), for evaluation."""
        b = len(x)
        pairs, top = split_raw(self.cfg, x)
        c = top.shape[1]
        top_rows = self.top.view(1, c, 1, -1).expand(b, c, top[0, 0].numel(), -1).reshape(-1, self.classes)
        total = _bits(self.top_head.class_weights(top_rows, self.top_tables), top.reshape(-1)).view(b, -1).sum(1)
        p = self.cfg.params(self.split_head)
        for i, (x1, x2) in enumerate(pairs):
            y = self.couplings[i].ranks(x1, x2)
            out = self.splits[i](class_inputs(x1, self.classes, self.cfg.onehot))
            rows = out.view(b, -1, p, x1[0, 0].numel()).transpose(2, 3).reshape(-1, p)
            total += _bits(self.split_head.class_weights(rows, self.split_tables), y.reshape(-1)).view(b, -1).sum(1)
        return total

    def _descend(self, parts: list[torch.Tensor], upto: int | None,
                 sizes: list[tuple[int, int]] | None = None) -> torch.Tensor:
        """Invert from the top: the kept channels x1 of coupling `upto`, or (None) the whole array; each level
        cropped to its size in `sizes` (the padding its forward pass added)."""
        z = parts[0]
        n = len(self.layers)
        for i in range(n - 1, -1, -1):
            if i == upto:
                return z
            layer = self.layers[i]
            z = torch.cat([z, self.couplings[i].classes(z, parts[n - i])], 1)
            if layer.first:
                z = unsqueeze(z[:, torch.argsort(level_order(self.cfg, layer.channels))])
                if sizes:
                    z = z[:, :, :sizes[layer.level][0], :sizes[layer.level][1]]
        return z

    def array(self, parts: list[torch.Tensor], sizes: list[tuple[int, int]] | None = None) -> torch.Tensor:
        return self._descend(parts, None, sizes)

    # codecs.coding_model.LatentModel

    def _padded(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """The sides the array enters the flow with (padded to a multiple, for padding "whole")."""
        self.check(shape)
        if self.cfg.padding == "per-level":
            return shape[0], shape[1]
        m = self.cfg.multiple
        return -(-shape[0] // m) * m, -(-shape[1] // m) * m

    def _sizes(self, shape: tuple[int, ...]) -> list[tuple[int, int]]:
        """(h, w) of what enters each level, before its padding, then of what is left at the top."""
        h, w = self._padded(shape)
        sizes = [(h, w)]
        for _ in range(self.cfg.levels):
            h, w = -(-h // 2), -(-w // 2)
            sizes.append((h, w))
        return sizes

    def _part_shape(self, shape: tuple[int, ...], k: int) -> tuple[int, int, int, int]:
        sizes = self._sizes(shape)
        if k == 0:
            return 1, self.cfg.top_channels, *sizes[-1]
        layer = self.layers[len(self.layers) - k]
        return 1, layer.targets, *sizes[layer.level + 1]

    def part_sizes(self, shape: tuple[int, ...]) -> list[int]:
        self._padded(shape)
        return [int(np.prod(self._part_shape(shape, k))) for k in range(len(self.layers) + 1)]

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        self.check(x.shape, x)
        h, w = self._padded(x.shape)
        return [p.flatten().numpy() for p in self.latents(padded_input(x[None], self.channels, h, w))]

    def _parts(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> list[torch.Tensor]:
        out = [torch.from_numpy(np.asarray(p, dtype=np.int64)).view(self._part_shape(shape, k))
               for k, p in enumerate(parts)]
        if any(len(p) and (p.min() < 0 or p.max() >= self.classes) for p in out):
            raise ValueError("latents outside the flow's classes")
        return out

    def prior(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray]):
        _, c, h, w = self._part_shape(shape, k)
        if k == 0:  # one free prior per channel
            table = self.top_head.class_weights(self.top.view(c, -1), self.top_tables).numpy()
            return np.zeros(c * h * w, dtype=np.int64), per_channel(table, h * w)
        i = len(self.layers) - k
        x1 = self._descend(self._parts(shape, parts), i, self._sizes(shape))
        p = self.cfg.params(self.split_head)
        out = self.splits[i](class_inputs(x1, self.classes, self.cfg.onehot))
        rows = out.view(c, p, h * w).transpose(1, 2).reshape(-1, p)

        def weights(idx: np.ndarray) -> np.ndarray:
            return self.split_head.class_weights(rows[torch.from_numpy(idx)], self.split_tables).numpy()

        return np.zeros(c * h * w, dtype=np.int64), weights

    def inverse(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray:
        x = self.array(self._parts(shape, parts), self._sizes(shape))[0].permute(1, 2, 0)
        return x[:shape[0], :shape[1], :shape[2]].numpy()
