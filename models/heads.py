"""Output heads: how the network's last layer becomes a distribution over the 256 values of a sub-pixel.

Each head has two faces that must agree: a float log-likelihood for training, and an exact integer
path from the integer network's head outputs to unnormalized class weights for the coder. The
integer path reads every nonlinearity from tables computed once at export and stored with the
weights, so no platform ``exp`` or ``sigmoid`` is ever evaluated while coding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

NUM_CLASSES = 256
CHUNK_ELEMENTS = 1280  # rows x mixture components a table chunk holds: chosen by measurement
TABLE_ONE = 2 ** 30  # table value of a certain event


def round_half_up(t: torch.Tensor) -> torch.Tensor:
    return torch.floor(t.double() + 0.5).to(torch.int64)


def lookup(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """table[idx] for a 1-D table, through index_select: faster than advanced indexing on large idx."""
    return table.index_select(0, idx.reshape(-1)).view(idx.shape)


def _fake_quant(x: torch.Tensor, step: float) -> torch.Tensor:
    """Round to the integer head's output grid in the forward pass; identity gradient."""
    return x + (torch.round(x / step) * step - x).detach()


@dataclass(frozen=True)
class CategoricalHead:
    """256 logits per sub-pixel; the integer logits are in units of 1/logit_scale nats."""

    logit_scale: int = 16
    logit_range: int = 20  # nats below the row maximum that still get their own weight

    @property
    def params(self) -> int:
        return NUM_CLASSES

    def init_(self, conv: nn.Conv2d) -> None:
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """out: (B, C, 256, H, W) logits; x: (B, C, H, W) values. Returns log p(x) in nats."""
        return F.log_softmax(out, dim=2).gather(2, x.long().unsqueeze(2)).squeeze(2)

    def log_prob_interval(self, out: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """log p(lo <= x <= hi) in nats, for (B, C, H, W) bounds."""
        v = torch.arange(NUM_CLASSES, device=out.device).view(1, 1, -1, 1, 1)
        inside = (v >= lo.unsqueeze(2)) & (v <= hi.unsqueeze(2))
        logp = F.log_softmax(out, dim=2).masked_fill(~inside, float("-inf"))
        return torch.logsumexp(logp, dim=2)

    def output_grid(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(step, offset) per head output: integer output = round(float output / step + offset)."""
        return torch.full((NUM_CLASSES,), 1.0 / self.logit_scale, dtype=torch.float64), torch.zeros(NUM_CLASSES)

    def tables(self) -> dict[str, torch.Tensor]:
        steps = torch.arange(self.logit_range * self.logit_scale + 1, dtype=torch.float64)
        return {"exp_table": round_half_up(TABLE_ONE * torch.exp(-steps / self.logit_scale))}

    def class_weights(self, q: torch.Tensor, tables: dict[str, torch.Tensor], start: torch.Tensor | None = None,
                      width: int = NUM_CLASSES) -> torch.Tensor:
        """Integer logits (N, 256) -> int64 weights (N, width) of classes start .. start + width - 1 (start
        per row, default 0); each row's largest over all 256 classes is 2**30."""
        table = tables["exp_table"]
        gap = (q.max(dim=1, keepdim=True).values - q).clamp_(max=len(table) - 1)
        if start is not None:
            gap = gap.gather(1, start.unsqueeze(1) + torch.arange(width))
        return lookup(table, gap)


@dataclass(frozen=True)
class LogisticMixtureHead:
    """A mixture of discretized logistics per sub-pixel (PixelCNN++ without channel coupling).

    Per component: a mixture logit (nats), a mean (pixel levels) and a log-scale (nats, scale in
    pixel levels). The integer head emits them in units of 1/16: logits and log-scales in 1/16 nat,
    means in 1/16 of a level; the CDF at the bin edges comes from a sigmoid table.
    """

    mixtures: int = 10
    grid: int = 16  # integer outputs per nat / per pixel level
    mean_gain: float = 128.0  # float output 0 means value 128; +-1 spans the pixel range
    log_scale_offset: float = 2.0  # float output 0 means a scale of e**2 levels
    log_scale_min: float = -3.0
    log_scale_max: float = 6.0
    logit_range: int = 20
    z_res: int = 256  # sigmoid table entries per unit of (x - mean) / scale
    z_max: int = 24  # sigmoid(-24) * 2**30 < 0.5: beyond it the table is flat
    interp_bits: int = 12  # linear interpolation between table entries, for broad components
    inv_bits: int = 20  # fixed-point bits of 1/scale

    @property
    def params(self) -> int:
        return 3 * self.mixtures

    def init_(self, conv: nn.Conv2d) -> None:
        """Small random weights, means spread over the range: identical components never separate."""
        k = self.mixtures
        with torch.no_grad():
            conv.weight.mul_(0.1)
            conv.bias.zero_()
            bias = conv.bias.view(-1, self.params)
            bias[:, k:2 * k] = torch.linspace(-0.9, 0.9, k)

    def _split(self, out: torch.Tensor):
        k = self.mixtures
        logit = _fake_quant(out[:, :, :k], 1 / self.grid)
        mean = _fake_quant(self.mean_gain * (out[:, :, k:2 * k] + 1), 1 / self.grid)
        log_s = _fake_quant(out[:, :, 2 * k:] + self.log_scale_offset, 1 / self.grid)
        return logit, mean, log_s.clamp(self.log_scale_min, self.log_scale_max)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """out: (B, C, 3K, H, W); x: (B, C, H, W) values. Returns log p(x) in nats."""
        return self.log_prob_interval(out, x, x)

    def log_prob_interval(self, out: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """log p(lo <= x <= hi) in nats, for (B, C, H, W) bounds.

        Uses sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^(b-a)), stable for every interval; the
        first and last bins extend to -inf and +inf.
        """
        logit, mean, log_s = self._split(out)
        lo, hi = lo.unsqueeze(2).to(out.dtype), hi.unsqueeze(2).to(out.dtype)
        inv_s = torch.exp(-log_s)
        first, last = lo == 0, hi == NUM_CLASSES - 1
        zero = torch.zeros((), dtype=out.dtype, device=out.device)
        comp = (torch.where(last, zero, F.logsigmoid((hi + 0.5 - mean) * inv_s))
                + torch.where(first, zero, F.logsigmoid((mean - lo + 0.5) * inv_s))
                + torch.where(first | last, zero, torch.log(-torch.expm1(-(hi - lo + 1) * inv_s))))
        return torch.logsumexp(F.log_softmax(logit, dim=2) + comp, dim=2)

    def output_grid(self) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.mixtures
        step = torch.cat([torch.full((k,), 1.0 / self.grid), torch.full((k,), 1.0 / (self.grid * self.mean_gain)),
                          torch.full((k,), 1.0 / self.grid)]).double()
        offset = torch.cat([torch.zeros(k), torch.full((k,), self.grid * self.mean_gain),
                            torch.full((k,), self.grid * self.log_scale_offset)]).double()
        return step, offset

    def tables(self) -> dict[str, torch.Tensor]:
        steps = torch.arange(self.logit_range * self.grid + 1, dtype=torch.float64)
        z = torch.arange(-self.z_max * self.z_res, self.z_max * self.z_res + 2, dtype=torch.float64) / self.z_res
        log_s = torch.arange(round(self.log_scale_min * self.grid), round(self.log_scale_max * self.grid) + 1,
                             dtype=torch.float64) / self.grid
        return {"exp_table": round_half_up(TABLE_ONE * torch.exp(-steps / self.grid)),
                "sigmoid_table": round_half_up(TABLE_ONE * torch.sigmoid(z)),
                "inv_scale_table": round_half_up(2.0 ** self.inv_bits * torch.exp(-log_s))}

    def class_weights(self, q: torch.Tensor, tables: dict[str, torch.Tensor], start: torch.Tensor | None = None,
                      width: int = NUM_CLASSES, chunk: int | None = None) -> torch.Tensor:
        """Integer outputs (N, 3K) -> int64 weights (N, width) of classes start .. start + width - 1 (start
        per row, default 0), at most 2**30 each, all in int64.

        Each class's weight depends only on the mixture's CDF at its own two edges, so a range costs
        width / 256 of all classes and gives the very integers the whole row has there. Rows are worked
        `chunk` at a time (any chunk gives the same integers): by default as many as keep the
        intermediate tensors near CHUNK_ELEMENTS rows x components, small enough for the cache, large
        enough that the per-operation overhead does not dominate (docs/how-it-works.md).
        """
        chunk = chunk or max(64, CHUNK_ELEMENTS // self.mixtures)
        if not len(q):
            return torch.empty(0, width, dtype=torch.int64)
        return torch.cat([self._weights(q[i:i + chunk], tables, None if start is None else start[i:i + chunk], width)
                          for i in range(0, len(q), chunk)])

    def _weights(self, q: torch.Tensor, tables: dict[str, torch.Tensor], start: torch.Tensor | None,
                 width: int) -> torch.Tensor:
        k = self.mixtures
        logit, mean, log_s = q[:, :k], q[:, k:2 * k], q[:, 2 * k:]
        exp_t, sig_t, inv_t = tables["exp_table"], tables["sigmoid_table"], tables["inv_scale_table"]
        lo_q = round(self.log_scale_min * self.grid)
        inv_s = lookup(inv_t, (log_s - lo_q).clamp_(0, len(inv_t) - 1))  # 1/scale, 2**inv_bits per level
        mean = mean.clamp(-NUM_CLASSES * self.grid, 2 * NUM_CLASSES * self.grid)
        # bound j of the range lies on edge j - 1 (between classes j - 1 and j); bounds 0 and 256 are the ends
        bound = torch.arange(width + 1, dtype=torch.int64).view(1, -1)
        bound = bound if start is None else bound + start.unsqueeze(1)
        edges = (bound - 1).clamp(0, NUM_CLASSES - 2) * self.grid + self.grid // 2
        # z = (edge - mean) / scale in units of 2**-interp_bits / z_res
        shift = (self.grid * 2 ** self.inv_bits // self.z_res).bit_length() - 1 - self.interp_bits
        z = (edges.unsqueeze(1) - mean.unsqueeze(2)).mul_(inv_s.unsqueeze(2))
        centre = self.z_max * self.z_res << self.interp_bits
        z.add_(1 << (shift - 1)).bitwise_right_shift_(shift).clamp_(-centre, centre).add_(centre)
        frac = z & ((1 << self.interp_bits) - 1)
        idx = z.bitwise_right_shift_(self.interp_bits)
        slope = sig_t[1:] - sig_t[:-1]
        cdf = lookup(slope, idx).mul_(frac).bitwise_right_shift_(self.interp_bits).add_(lookup(sig_t, idx))  # (N, K, W+1)
        gap = (logit.max(dim=1, keepdim=True).values - logit).clamp_(max=len(exp_t) - 1)
        weight = lookup(exp_t, gap) >> (30 - 16)  # at most 2**16
        mixed = cdf.mul_(weight.unsqueeze(2)).sum(dim=1)  # the mixture's CDF at the bounds, at most K * 2**46
        mixed = torch.where(bound == 0, 0, mixed)
        mixed = torch.where(bound == NUM_CLASSES, weight.sum(dim=1, keepdim=True) * TABLE_ONE, mixed)
        return (mixed[:, 1:] - mixed[:, :-1]) >> (16 + (self.mixtures - 1).bit_length())


HEADS = {"categorical": CategoricalHead, "logistic-mixture": LogisticMixtureHead}
