"""Discrete Flows (Tran et al. 2019): bipartite modular location-scale couplings over K classes.

After one squeeze, each coupling permutes the channels (fixed), keeps the first half and maps every
value x of the second half to (mu + sigma * x) mod K, where mu is the argmax of K location logits and
sigma the argmax over a few units of Z_K (odd numbers for K = 256), so sigma is invertible mod K and
the layer is a bijection; both come from a net of the kept half. The latents get a factorized
categorical prior with free logits per channel. Any channel count: colour images (3) or class maps
(1 channel of K classes, with ``onehot`` nets that see classes without an order). Training sees hard one-hot values forward and
tempered softmaxes backward (straight-through); the modular sum of one-hot vectors is a circular
convolution, computed by FFT for the gradient only. Coding uses the integer net (``flow_net.py``):
its integer logits' argmax (first of equals) is the same on any machine, and the prior's weights come
from the categorical head's exp table (``heads.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .exact_flow import ClassFlow, per_channel
from .flow_arrays import padded_input
from .flow_net import (ONEHOT_LEVEL, ONEHOT_MAX, IntegerResNet, QuantResNet, ResNetShape, class_inputs, prefixed,
                       unprefixed)
from .heads import CategoricalHead, round_half_up
from .idf import squeeze, unsqueeze

FAMILY = "discrete-flow"


@dataclass(frozen=True)
class DFConfig:
    classes: int = 256
    channels: int = 3  # of the coded array: 3 for colour images, 1 for class maps
    onehot: bool = False  # nets see classes one-hot (categories without an order)
    couplings: int = 4
    width: int = 32
    blocks: int = 1
    scales: int = 4  # candidate scales: the first units of Z_K (1 = location only)
    temperature: float = 0.25  # of the straight-through softmax
    act_clip: float = 6.0
    seed: int = 0

    @property
    def squeezed(self) -> int:
        """Channels after the squeeze."""
        return 4 * self.channels

    def units(self) -> list[int]:
        return [u for u in range(1, self.classes) if math.gcd(u, self.classes) == 1][:self.scales] or [1]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DFConfig":
        """Refused outside sane sizes: a model file is untrusted input."""
        cfg = cls(**d)
        ints = [cfg.classes, cfg.channels, cfg.couplings, cfg.width, cfg.blocks, cfg.scales, cfg.seed]
        if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and 2 <= cfg.classes <= 256
                and 1 <= cfg.channels <= 4 and isinstance(cfg.onehot, bool)
                and (not cfg.onehot or cfg.classes * cfg.channels <= ONEHOT_MAX)
                and 1 <= cfg.couplings <= 32 and 1 <= cfg.width <= 512 and 0 <= cfg.blocks <= 16
                and 1 <= cfg.scales <= 128 and 0 < cfg.temperature <= 10 and 0 < cfg.act_clip <= 64
                and 0 <= cfg.seed < 2 ** 31):
            raise ValueError(f"discrete flow config out of range: {d}")
        return cfg

    def head(self) -> CategoricalHead:
        return CategoricalHead()


def permutations(cfg: DFConfig) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(cfg.seed)
    return [torch.randperm(cfg.squeezed, generator=g) for _ in range(cfg.couplings)]


def _straight_through(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hard one-hot of the argmax forward, tempered softmax backward; logits (..., K, H, W) on dim 2."""
    soft = F.softmax(logits / temperature, dim=2)
    hard = F.one_hot(logits.argmax(dim=2), logits.shape[2]).movedim(-1, 2).to(soft.dtype)
    return hard + soft - soft.detach()


class DiscreteFlow(nn.Module):
    """The trainable flow on one-hot tensors (B, 4 C, K, h, w)."""

    def __init__(self, cfg: DFConfig = DFConfig()):
        super().__init__()
        self.cfg = cfg
        self.perms = permutations(cfg)
        units = torch.tensor(cfg.units())
        self.register_buffer("units", units, persistent=False)
        k = cfg.classes
        inverse = torch.tensor([pow(int(u), -1, k) for u in units])
        # scaled[j] = x[(u^-1 j) mod K]: the one-hot of (u x) mod K
        self.register_buffer("gather", (inverse.view(-1, 1) * torch.arange(k)) % k, persistent=False)
        half = cfg.squeezed // 2
        inputs = half * (k if cfg.onehot else 1)
        self.couplings = nn.ModuleList(
            QuantResNet(ResNetShape(inputs, half * (k + len(units)), cfg.width, cfg.blocks), cfg.act_clip)
            for _ in range(cfg.couplings))
        self.prior = nn.Parameter(torch.zeros(cfg.squeezed, k))

    def _couple(self, i: int, z: torch.Tensor) -> torch.Tensor:
        cfg, k, m = self.cfg, self.cfg.classes, len(self.cfg.units())
        z = z[:, self.perms[i]]
        half = cfg.squeezed // 2
        za, zb = z[:, :half], z[:, half:]
        if cfg.onehot:  # hard forward, soft backward, as the values below
            inputs = za.flatten(1, 2) * ONEHOT_LEVEL
        else:
            inputs = class_inputs((za * torch.arange(k, device=z.device).view(1, 1, -1, 1, 1)).sum(2), k)
        out = self.couplings[i](inputs)
        b, _, h, w = out.shape
        out = out.view(b, half, k + m, h, w)
        loc = _straight_through(out[:, :, :k], cfg.temperature)
        scale = _straight_through(out[:, :, k:], cfg.temperature)
        # hard forward values
        x = zb.argmax(2)
        mu, sigma = loc.argmax(2), self.units[scale.argmax(2)]
        hard = F.one_hot((mu + sigma * x) % k, k).movedim(-1, 2).to(zb.dtype)
        # gradient path: sum over scales of the permuted one-hots, then a circular convolution with mu
        permuted = zb.unsqueeze(2).expand(-1, -1, m, -1, -1, -1).gather(
            3, self.gather.view(1, 1, m, k, 1, 1).expand(b, half, m, k, h, w))
        scaled = (scale.unsqueeze(3) * permuted).sum(2)
        soft = torch.fft.irfft(torch.fft.rfft(scaled, dim=2) * torch.fft.rfft(loc, dim=2), n=k, dim=2)
        return torch.cat([za, hard + soft - soft.detach()], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """log_prob: what a training step calls, through a distributed wrapper where there is one."""
        return self.log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) classes, even sides. Returns log p(x) in nats per array."""
        k = self.cfg.classes
        z = F.one_hot(squeeze(x.long()), k).movedim(-1, 2).float()
        for i in range(self.cfg.couplings):
            z = self._couple(i, z)
        logp = F.log_softmax(self.prior, dim=1).view(1, self.cfg.squeezed, k, 1, 1)
        return (z * logp).sum((1, 2, 3, 4))

    def integer_tensors(self) -> dict[str, torch.Tensor]:
        k, m = self.cfg.classes, len(self.cfg.units())
        head = self.cfg.head()
        t: dict[str, torch.Tensor] = {}
        step = torch.full((self.cfg.squeezed // 2 * (k + m),), 1.0 / head.logit_scale, dtype=torch.float64)
        for i, net in enumerate(self.couplings):
            t.update(prefixed(f"coupling{i}", net.integer_tensors(step, torch.zeros_like(step))))
            t[f"perm{i}"] = self.perms[i].clone()
        logp = F.log_softmax(self.prior.detach().double(), dim=1)
        t["prior"] = round_half_up(logp * head.logit_scale)
        t.update(prefixed("head", head.tables()))
        return t


class IntegerDiscreteFlow(ClassFlow):
    """The exact flow, as a bounded ``codecs.coding_model.LatentModel`` over (H, W, C) arrays of classes.

    An 8-bit image flow shows grey planes as three equal channels; odd sides are padded with edge
    values (cropped after decoding), as for the IDF.
    """

    bounded = True

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: DFConfig):
        super().__init__(tensors, cfg)
        self.head = cfg.head()
        self.tables = unprefixed("head", tensors)
        self.couplings = [IntegerResNet(unprefixed(f"coupling{i}", tensors), cfg.blocks) for i in range(cfg.couplings)]
        self.perms = [tensors[f"perm{i}"].long() for i in range(cfg.couplings)]
        for i, perm in enumerate(self.perms):
            if not torch.equal(torch.sort(perm).values, torch.arange(cfg.squeezed)):
                raise ValueError(f"perm{i} is not a permutation of the channels")
        self.inverse_perms = [torch.argsort(perm) for perm in self.perms]
        self.units = torch.tensor(cfg.units())
        self.inverse_units = torch.tensor([pow(int(u), -1, cfg.classes) for u in cfg.units()])
        self.prior_logits = tensors["prior"].long()
        if self.prior_logits.shape != (cfg.squeezed, cfg.classes):
            raise ValueError("prior has the wrong shape")

    def _location_scale(self, i: int, za: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.cfg.classes
        out = self.couplings[i](class_inputs(za, k, self.cfg.onehot))
        b, _, h, w = out.shape
        out = out.view(b, self.cfg.squeezed // 2, k + len(self.units), h, w)
        return out[:, :, :k].argmax(2), out[:, :, k:].argmax(2)  # the first of equal logits: deterministic

    def _couple(self, i: int, z: torch.Tensor, sign: int) -> torch.Tensor:
        k, half = self.cfg.classes, self.cfg.squeezed // 2
        if sign > 0:
            z = z[:, self.perms[i]]
        za, zb = z[:, :half], z[:, half:]
        mu, s = self._location_scale(i, za)
        zb = (mu + self.units[s] * zb) % k if sign > 0 else ((zb - mu) * self.inverse_units[s]) % k
        z = torch.cat([za, zb], 1)
        return z if sign > 0 else z[:, self.inverse_perms[i]]

    def image_latents(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) classes -> latents (B, 4 C, H/2, W/2) in [0, K)."""
        z = squeeze(x.long())
        for i in range(self.cfg.couplings):
            z = self._couple(i, z, +1)
        return z

    def image(self, z: torch.Tensor) -> torch.Tensor:
        for i in reversed(range(self.cfg.couplings)):
            z = self._couple(i, z, -1)
        return unsqueeze(z)

    # codecs.coding_model.LatentModel

    def _padded(self, shape: tuple[int, ...]) -> tuple[int, int]:
        self.check(shape)
        return shape[0] + shape[0] % 2, shape[1] + shape[1] % 2

    def part_sizes(self, shape: tuple[int, ...]) -> list[int]:
        h, w = self._padded(shape)
        return [self.cfg.squeezed * (h // 2) * (w // 2)]

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        return [p[0] for p in self.forward_batch(x[None])]

    def forward_batch(self, xs: np.ndarray) -> list[np.ndarray]:
        """(B, H, W, C) -> one part, (B, n); every image goes through the same integer operations as alone."""
        self.check(xs.shape[1:], xs)
        h, w = self._padded(xs.shape[1:])
        a = padded_input(xs, self.channels, h, w)
        return [self.image_latents(a).reshape(len(xs), -1).numpy()]

    def prior(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray]):
        h, w = self._padded(shape)
        n = (h // 2) * (w // 2)  # latents per channel
        table = self.head.class_weights(self.prior_logits, self.tables).numpy()
        return np.zeros(self.cfg.squeezed * n, dtype=np.int64), per_channel(table, n)

    def prior_batch(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray], batch: int):
        """The factorized prior is the same for every image: computed once, shown to each."""
        starts, weights = self.prior(shape, k, [])

        def batch_weights(rows: np.ndarray) -> np.ndarray:
            w = weights(rows)
            return np.broadcast_to(w, (batch, *w.shape))

        return np.broadcast_to(starts, (batch, len(starts))), batch_weights

    def inverse(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray:
        return self.inverse_batch(shape, [p[None] for p in parts])[0]

    def inverse_batch(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray:
        h, w = self._padded(shape)
        z = torch.from_numpy(np.asarray(parts[0], dtype=np.int64)).view(-1, self.cfg.squeezed, h // 2, w // 2)
        if z.min() < 0 or z.max() >= self.cfg.classes:
            raise ValueError("latents outside the flow's classes")
        return self.image(z).permute(0, 2, 3, 1)[:, :shape[0], :shape[1], :shape[2]].numpy()
