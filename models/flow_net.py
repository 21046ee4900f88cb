"""A small quantization-aware residual conv net and its exact integer twin, for the flows' couplings and priors.

Same exactness rules as the ARDM network (``integer_net.py``): int8 weights, integer inputs clamped to
[-128, 127], activations in [0, 127], int64 rescaling between layers, so every convolution is exact in
float32 whatever the summation order. The output layer requantizes straight to the integer grid the
caller needs (a coupling's shift in levels, a head's parameters), so no float ever decides a rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .ardm_net import QConv2d
from .heads import round_half_up
from .integer_net import EXACT_LIMIT, RESIDUAL_BITS, SHIFT, _requant
from .quant import ACT_LEVELS, INPUT_SCALE, WEIGHT_LEVELS, fake_quant_act, weight_scale


@dataclass(frozen=True)
class ResNetShape:
    inputs: int
    outputs: int
    width: int
    blocks: int


ONEHOT_LEVEL = 127  # a present class as a one-hot network input
ONEHOT_MAX = 32  # classes x array channels of one-hot inputs: the integer stem's sums stay exact in float32


def class_inputs(values: torch.Tensor, classes: int, onehot: bool = False) -> torch.Tensor:
    """Class values (B, C, H, W) as the integer nets' inputs.

    One-hot (C * classes channels) for categories without an order, such as segmentation labels; else
    one value per class spread over [-128, 127] (pixels: x - 128), which keeps the order of levels.
    """
    if onehot:
        return F.one_hot(values.long(), classes).movedim(-1, 2).flatten(1, 2) * ONEHOT_LEVEL
    return (values - classes // 2) * (256 // classes)


def integer_inputs(z: torch.Tensor) -> torch.Tensor:
    """Latent integers as network inputs: clamped to the range the integer stem is exact for.

    Any function of the untouched channels keeps a coupling invertible, so clamping costs nothing but
    what the net cannot see beyond +-128.
    """
    return z.clamp(-INPUT_SCALE, INPUT_SCALE - 1)


class QuantResNet(nn.Module):
    """3x3 stem, residual blocks of two 3x3 convs, 3x3 output conv; clipped ReLUs rounded as the twin rounds them."""

    def __init__(self, shape: ResNetShape, act_clip: float = 6.0, zero_output: bool = True):
        super().__init__()
        self.shape, self.act_clip = shape, act_clip
        w = shape.width
        self.stem = QConv2d(shape.inputs, w, 3, padding=1)
        self.convs1 = nn.ModuleList(QConv2d(w, w, 3, padding=1) for _ in range(shape.blocks))
        self.convs2 = nn.ModuleList(QConv2d(w, w, 3, padding=1) for _ in range(shape.blocks))
        for c in self.convs2:
            nn.init.zeros_(c.weight)
            nn.init.zeros_(c.bias)
        self.out = QConv2d(w, shape.outputs, 3, padding=1)
        if zero_output:  # a coupling starts as the identity
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Integer-valued latents (B, inputs, H, W) -> float outputs (B, outputs, H, W)."""
        clip = self.act_clip
        h = self.stem(integer_inputs(z) / INPUT_SCALE)
        for c1, c2 in zip(self.convs1, self.convs2):
            h = h + c2(fake_quant_act(c1(fake_quant_act(h, clip)), clip))
        return self.out(fake_quant_act(h, clip))

    def integer_tensors(self, out_step: torch.Tensor, out_offset: torch.Tensor) -> dict[str, torch.Tensor]:
        """The exact twin's integers; output channel c becomes round(float output / out_step[c] + out_offset[c])."""
        s_act = self.act_clip / ACT_LEVELS
        res = 2.0 ** -RESIDUAL_BITS
        t: dict[str, torch.Tensor] = {}

        def conv(name: str, layer: nn.Conv2d, in_scale: float, out_scale, offset=0.0) -> None:
            s_w = weight_scale(layer.weight).double()
            w = torch.round(layer.weight.detach().double() / s_w.view(-1, 1, 1, 1)).clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS)
            t[f"{name}.weight"] = w.to(torch.int8)
            t[f"{name}.mult"] = round_half_up(s_w * in_scale / out_scale * 2 ** SHIFT)
            t[f"{name}.bias"] = round_half_up((layer.bias.detach().double() / out_scale + offset) * 2 ** SHIFT)

        conv("stem", self.stem, 1 / INPUT_SCALE, res)
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2)):
            conv(f"b{i}.conv1", c1, s_act, s_act)
            conv(f"b{i}.conv2", c2, s_act, res)
        conv("out", self.out, s_act, out_step.double(), out_offset.double())
        t["act.mult"] = round_half_up(torch.tensor([res / s_act * 2 ** SHIFT]))
        return t


class IntegerResNet:
    """The exact twin of a QuantResNet: integer latents in, integer outputs on the caller's grid out."""

    def __init__(self, tensors: dict[str, torch.Tensor], blocks: int):
        self.t = {k: v.contiguous() for k, v in tensors.items()}
        self.blocks = blocks
        self._w = {k[:-len(".weight")]: v.to(torch.float32) for k, v in self.t.items() if k.endswith(".weight")}
        for name, w in self._w.items():
            max_in = INPUT_SCALE if name == "stem" else ACT_LEVELS
            worst = w.abs().flatten(1).sum(dim=1).max().item() * max_in
            if worst >= EXACT_LIMIT:
                raise ValueError(f"layer {name}: partial sums up to {worst:.0f} are not exact in float32")

    def _conv(self, name: str, a: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(a.to(torch.float32), self._w[name], None, padding=1)
        return _requant(y, self.t[f"{name}.mult"], self.t[f"{name}.bias"])

    def _act(self, h: torch.Tensor) -> torch.Tensor:
        return (h * self.t["act.mult"]).add_(1 << (SHIFT - 1)).bitwise_right_shift_(SHIFT).clamp_(0, ACT_LEVELS)

    @torch.no_grad()
    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """int64 latents (B, inputs, H, W) -> int64 outputs (B, outputs, H, W)."""
        h = self._conv("stem", integer_inputs(z))
        for i in range(self.blocks):
            h = h + self._conv(f"b{i}.conv2", self._conv(f"b{i}.conv1", self._act(h)).clamp_(0, ACT_LEVELS))
        return self._conv("out", self._act(h))


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
