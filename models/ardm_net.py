"""The ARDM's trainable network: fully convolutional, no normalization, quantization-aware.

No normalization layers because their statistics depend on image size and reduction order; ReLU
activations clipped and rounded in training so that the integer network reproduces them.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .heads import HEADS, NUM_CLASSES, CategoricalHead, LogisticMixtureHead
from .quant import INPUT_SCALE, fake_quant_act, fake_quant_weight

DATA_CHANNELS = 3
# inputs: masked values (3), mask (3), visible fraction (1); all integers in [-128, 127]
INPUT_CHANNELS = 2 * DATA_CHANNELS + 1


@dataclass(frozen=True)
class NetConfig:
    width: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2)
    act_clip: float = 6.0
    logit_scale: int = 16  # integer logits are in units of 1/logit_scale nats
    logit_range: int = 20  # nats below the row maximum that still get their own frequency
    head: str = "categorical"  # or "logistic-mixture"
    mixtures: int = 10  # components of a logistic-mixture head
    branching: int = 256  # digits per stage of a depth-upscaling ARDM; 256 = one stage, the plain OA-ARDM

    @property
    def receptive_radius(self) -> int:
        """How far an output sees: the 3x3 stem, then two 3x3 convs of each block's dilation."""
        return 1 + 2 * sum(self.dilations)

    def make_head(self) -> CategoricalHead | LogisticMixtureHead:
        if self.head not in HEADS:
            raise ValueError(f"unknown output head '{self.head}'")
        if self.head == "categorical":
            return CategoricalHead(self.logit_scale, self.logit_range)
        return LogisticMixtureHead(self.mixtures, grid=self.logit_scale, logit_range=self.logit_range)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        """A config from a model file, refused when outside what any sane model uses: a file is
        untrusted input, and a dilation of 10**6 would make one call allocate without bound."""
        d = dict(d)
        d["dilations"] = tuple(d["dilations"])
        cfg = cls(**d)
        ints = [cfg.width, cfg.logit_scale, cfg.logit_range, cfg.mixtures, cfg.branching, *cfg.dilations]
        if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints)
                and 1 <= cfg.width <= 1024 and 1 <= len(cfg.dilations) <= 64
                and all(1 <= v <= 256 for v in cfg.dilations) and 0 < cfg.act_clip <= 64
                and 1 <= cfg.logit_scale <= 64 and 1 <= cfg.logit_range <= 64 and 1 <= cfg.mixtures <= 64
                and cfg.branching in (2, 4, 16, 256) and cfg.head in HEADS):
            raise ValueError(f"model config out of range: {d}")
        return cfg


class QConv2d(nn.Conv2d):
    """Conv whose weights are rounded to a per-channel int8 grid in the forward pass."""

    bfloat16 = False  # set by bfloat16_convs while training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = fake_quant_weight(self.weight)
        if not self.bfloat16:
            return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation)
        y = F.conv2d(x.bfloat16(), w.bfloat16(), None, self.stride, self.padding, self.dilation)
        return y.float() + self.bias.view(1, -1, 1, 1)


@contextlib.contextmanager
def bfloat16_convs(net: nn.Module, on: bool = True) -> Iterator[None]:
    """The net's convolutions in bfloat16 inside (each output summed in float32, then rounded to bfloat16;
    bias, activations and head in float32): faster training steps on CPUs with AMX or AVX512-BF16 (or a GPU)
    for a forward pass close to float32's (docs/training.md, --bfloat16). Evaluation, export and the integer
    network that codes never use it."""
    convs = [m for m in net.modules() if isinstance(m, QConv2d)]
    for m in convs:
        m.bfloat16 = on
    try:
        yield
    finally:
        for m in convs:
            m.bfloat16 = False


class ResBlock(nn.Module):
    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.conv1 = QConv2d(width, width, 3, padding=dilation, dilation=dilation)
        self.conv2 = QConv2d(width, width, 3, padding=dilation, dilation=dilation)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)


class ARDMNet(nn.Module):
    """Maps integer network inputs (B, 7, H, W) to the head's float outputs (B, 3, P, H, W)."""

    def __init__(self, config: NetConfig = NetConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.stem = QConv2d(INPUT_CHANNELS, w, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(w, d) for d in config.dilations)
        self.output = config.make_head()
        self.head = QConv2d(w, DATA_CHANNELS * self.output.params, 1)
        self.output.init_(self.head)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        clip = self.config.act_clip
        h = self.stem(inputs.float() / INPUT_SCALE)
        for block in self.blocks:
            u = fake_quant_act(h, clip)
            v = fake_quant_act(block.conv1(u), clip)
            h = h + block.conv2(v)
        out = self.head(fake_quant_act(h, clip))
        b, _, hh, ww = out.shape
        return out.view(b, DATA_CHANNELS, self.output.params, hh, ww)


def network_inputs(x: torch.Tensor, visible: torch.Tensor, fraction_level: torch.Tensor) -> torch.Tensor:
    """Integer network inputs from an image, its visibility mask and the visible fraction.

    x: (B, 3, H, W) integer values 0..255; visible: (B, 3, H, W) bool;
    fraction_level: (B,) integers 0..127 (visible dimensions as a fraction of all, times 127).
    """
    v = visible.to(torch.int64)
    x = x.to(torch.int64)
    return interval_inputs(x * v, x * v + 255 * (1 - v), v * 127, fraction_level)


def interval_inputs(lo: torch.Tensor, hi: torch.Tensor, level: torch.Tensor, fraction_level: torch.Tensor) -> torch.Tensor:
    """Network inputs when each sub-pixel is known to lie in [lo, hi] (an upscaling ARDM's coarse values).

    The value channel is the interval's midpoint less 128 (0 when nothing is known, x - 128 when x
    is); the mask channel is how much is known on 0..127. All (B, 3, H, W) int64.
    """
    values = torch.div(lo + hi + 1, 2, rounding_mode="floor") - 128
    frac = fraction_level.to(torch.int64).view(-1, 1, 1, 1).expand(-1, 1, *lo.shape[2:])
    return torch.cat([values, level, frac], dim=1)


def fraction_level(visible_count: torch.Tensor | int, total: int) -> torch.Tensor:
    """The visible fraction on the 0..127 grid both training and coding use."""
    return torch.div(torch.as_tensor(visible_count, dtype=torch.int64) * 127, total, rounding_mode="floor")
