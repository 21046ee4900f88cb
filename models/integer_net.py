"""Bit-exact inference for ARDMNet: integer weights and activations, integer rescaling between layers.

Every convolution runs in float32 on integer values whose partial sums stay below 2**24, so its
result is exact whatever the summation order (threads, batch size, kernel choice). Rescaling between
layers multiplies by an integer and shifts right in int64. Integer logits map to unnormalized
probabilities through a lookup table stored with the weights, never through a platform ``exp``.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

from .ardm_net import DATA_CHANNELS, ARDMNet, NetConfig
from .heads import NUM_CLASSES, round_half_up
from .quant import ACT_LEVELS, INPUT_SCALE, WEIGHT_LEVELS, weight_scale

SHIFT = 24  # fixed-point bits of every integer multiplier
RESIDUAL_BITS = 12  # fixed-point fraction bits of the residual stream
EXACT_LIMIT = 2 ** 24  # float32 represents every integer up to here


def _requant(y: torch.Tensor, mult: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """round(y * mult / 2**SHIFT + bias / 2**SHIFT) per channel, in exact int64 arithmetic."""
    y = y.to(torch.int64)
    shape = (1, -1) + (1,) * (y.dim() - 2)
    return y.mul_(mult.view(shape)).add_(bias.view(shape) + (1 << (SHIFT - 1))).bitwise_right_shift_(SHIFT)


def _layer_scales(config: NetConfig) -> Iterator[tuple[str, float, float | torch.Tensor, float | torch.Tensor]]:
    """(layer, input scale, output scale, output offset) of every convolution: how each layer's float
    inputs and outputs map to the integers of the exact network. Export and its inverse both follow it."""
    s_act = config.act_clip / ACT_LEVELS
    residual_scale = 2.0 ** -RESIDUAL_BITS
    yield "stem", 1 / INPUT_SCALE, residual_scale, 0.0
    for i in range(len(config.dilations)):
        yield f"blocks.{i}.conv1", s_act, s_act, 0.0
        yield f"blocks.{i}.conv2", s_act, residual_scale, 0.0
    step, offset = config.make_head().output_grid()
    yield "head", s_act, step.repeat(DATA_CHANNELS), offset.repeat(DATA_CHANNELS)


def export_integer_tensors(net: ARDMNet) -> dict[str, torch.Tensor]:
    """The integer parameters (and exp table) that define the exact network, from a trained net."""
    out: dict[str, torch.Tensor] = {}
    for name, in_scale, out_scale, offset in _layer_scales(net.config):
        layer = net.get_submodule(name)
        s_w = weight_scale(layer.weight).double()
        w = torch.round(layer.weight.detach().double() / s_w.view(-1, 1, 1, 1)).clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS)
        out[f"{name}.weight"] = w.to(torch.int8)
        out[f"{name}.mult"] = round_half_up(s_w * in_scale / out_scale * 2 ** SHIFT)
        out[f"{name}.bias"] = round_half_up((layer.bias.detach().double() / out_scale + offset) * 2 ** SHIFT)
    s_act = net.config.act_clip / ACT_LEVELS
    out["act.mult"] = round_half_up(torch.tensor([2.0 ** -RESIDUAL_BITS / s_act * 2 ** SHIFT]))
    out.update(net.output.tables())
    return out


def float_state_dict(tensors: dict[str, torch.Tensor], config: NetConfig) -> dict[str, torch.Tensor]:
    """ARDMNet weights that export back to `tensors` (the inverse of ``export_integer_tensors``).

    Training sessions start on fresh machines, so a shipped model file is the only lasting starting
    point for more training; the recovered float net computes what the integer net does, because
    each channel's largest weight sits at +-127 on its grid (to 2**-24 of its multiplier).
    """
    state: dict[str, torch.Tensor] = {}
    for name, in_scale, out_scale, offset in _layer_scales(config):
        s_w = tensors[f"{name}.mult"].double() / 2 ** SHIFT * out_scale / in_scale
        state[f"{name}.weight"] = (tensors[f"{name}.weight"].double() * s_w.view(-1, 1, 1, 1)).float()
        state[f"{name}.bias"] = ((tensors[f"{name}.bias"].double() / 2 ** SHIFT - offset) * out_scale).float()
    return state


class IntegerARDMNet:
    """Exact integer version of ARDMNet; holds no float state that could differ between machines."""

    def __init__(self, tensors: dict[str, torch.Tensor], config: NetConfig, dtype: torch.dtype = torch.float32):
        """dtype float64 gives a slower reference that is exact by a wide margin (for tests)."""
        self.config = config
        self.dtype = dtype
        self.t = {k: v.contiguous() for k, v in tensors.items()}
        self._float_weights = {k[:-len(".weight")]: v.to(dtype) for k, v in self.t.items()
                               if k.endswith(".weight")}
        self._check_bounds()
        self.output = config.make_head()
        head = self._float_weights["head"].view(DATA_CHANNELS, self.output.params, config.width)
        self._head_per_channel = [head[c].t().contiguous() for c in range(DATA_CHANNELS)]

    @classmethod
    def from_float(cls, net: ARDMNet) -> "IntegerARDMNet":
        return cls(export_integer_tensors(net), net.config)

    def _check_bounds(self) -> None:
        """Refuse weights for which some convolution could leave float32's exact integer range."""
        for name, w in self._float_weights.items():
            max_in = INPUT_SCALE if name == "stem" else ACT_LEVELS
            worst = w.abs().flatten(1).sum(dim=1).max().item() * max_in
            if worst >= EXACT_LIMIT:
                raise ValueError(f"layer {name}: partial sums up to {worst:.0f} are not exact in float32")

    def _conv(self, name: str, a: torch.Tensor, dilation: int = 1) -> torch.Tensor:
        w = self._float_weights[name]
        pad = dilation * (w.shape[-1] // 2)
        y = F.conv2d(a.to(self.dtype), w, None, padding=pad, dilation=dilation)
        return _requant(y, self.t[f"{name}.mult"], self.t[f"{name}.bias"])

    def _activation(self, h: torch.Tensor) -> torch.Tensor:
        u = (h * self.t["act.mult"]).add_(1 << (SHIFT - 1)).bitwise_right_shift_(SHIFT)
        return u.clamp_(0, ACT_LEVELS)

    @torch.no_grad()
    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Integer network inputs (B, 7, H, W) -> the head's integer input activations (B, width, H, W)."""
        h = self._conv("stem", inputs)
        for i, d in enumerate(self.config.dilations):
            v = self._conv(f"blocks.{i}.conv1", self._activation(h), d).clamp_(0, ACT_LEVELS)
            h = h + self._conv(f"blocks.{i}.conv2", v, d)
        return self._activation(h)

    @torch.no_grad()
    def class_weights(self, feats: torch.Tensor, channel: torch.Tensor, start: torch.Tensor | None = None,
                      classes: int = NUM_CLASSES) -> torch.Tensor:
        """Unnormalized integer class weights (N, classes) for N positions: classes start .. start + classes - 1
        of each (all 256 by default), the same integers as the whole row has there.

        feats: (N, width) head inputs at those positions; channel: (N,) colour channel of each.
        """
        p = self.output.params
        q = torch.empty(len(feats), p, dtype=torch.int64)
        for c in range(DATA_CHANNELS):
            rows = (channel == c).nonzero().squeeze(1)
            if len(rows):
                y = feats[rows].to(self.dtype) @ self._head_per_channel[c]
                mult = self.t["head.mult"].view(DATA_CHANNELS, p)[c]
                bias = self.t["head.bias"].view(DATA_CHANNELS, p)[c]
                q[rows] = _requant(y, mult, bias)
        return self.output.class_weights(q, self.t, start, classes)

