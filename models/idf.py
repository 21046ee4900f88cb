"""Integer Discrete Flows (Hoogeboom et al. 2019): an exact bijection from images to integer latents.

Pixels are centred (x - 128) and squeezed (2x2 space-to-depth); each level applies a fixed channel
permutation and an additive coupling (the last quarter of the channels shifted by an integer that a
net computes from the other three quarters), then factors out half its channels under a discretized
logistic mixture whose parameters come from the half that continues, and squeezes again. The last
level's latents have a free prior per channel. The shifts and prior parameters reach the coder only
through the integer nets (``flow_net.py``) and the mixture head's integer CDF (``heads.py``), so
encoder and decoder compute the same integers on any machine. Training sees the same structure with
straight-through rounding and fake quantization.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .exact_flow import ExactFlow, per_channel
from .flow_net import IntegerResNet, QuantResNet, ResNetShape, prefixed, unprefixed
from .heads import NUM_CLASSES, LogisticMixtureHead, round_half_up

FAMILY = "idf"
SHIFT_GAIN = 128.0  # a coupling net's float output 1 shifts by 128 levels; its integer output is the shift


@dataclass(frozen=True)
class IDFConfig:
    levels: int = 3
    couplings: int = 4  # per level
    width: int = 32
    blocks: int = 1  # residual blocks per coupling / prior net
    mixtures: int = 2  # logistic components per latent
    act_clip: float = 6.0
    seed: int = 0  # draws the fixed channel permutations

    def channels(self, level: int) -> int:
        """Channels at a level, colour images squeezed once more per level, half factored out before each squeeze."""
        return 12 * 2 ** level

    @property
    def multiple(self) -> int:
        """Image sides are padded to a multiple of this."""
        return 2 ** self.levels

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "IDFConfig":
        """Refused outside sane sizes: a model file is untrusted input."""
        cfg = cls(**d)
        ints = [cfg.levels, cfg.couplings, cfg.width, cfg.blocks, cfg.mixtures, cfg.seed]
        if not (all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and 1 <= cfg.levels <= 5
                and 1 <= cfg.couplings <= 32 and 1 <= cfg.width <= 512 and 0 <= cfg.blocks <= 16
                and 1 <= cfg.mixtures <= 16 and 0 < cfg.act_clip <= 64 and 0 <= cfg.seed < 2 ** 31):
            raise ValueError(f"IDF config out of range: {d}")
        return cfg

    def head(self) -> LogisticMixtureHead:
        return LogisticMixtureHead(self.mixtures)


def squeeze(z: torch.Tensor) -> torch.Tensor:
    b, c, h, w = z.shape
    return z.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(z: torch.Tensor) -> torch.Tensor:
    b, c, h, w = z.shape
    return z.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)


def permutations(cfg: IDFConfig) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(cfg.seed)
    return [torch.randperm(cfg.channels(level), generator=g)
            for level in range(cfg.levels) for _ in range(cfg.couplings)]


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def window_log_prob(head: LogisticMixtureHead, out: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(z) in nats under the head, for centred latents z (B, C, H, W), out (B, C, P, H, W).

    As the coder sees it: a window of 256 values around the mean of the most likely component, its end
    classes holding the tails (a latent beyond them also pays an escape, which this leaves out).
    """
    k = head.mixtures
    with torch.no_grad():
        mean = head.mean_gain * (out[:, :, k:2 * k] + 1)
        top = out[:, :, :k].argmax(dim=2, keepdim=True)
        start = torch.round(mean.gather(2, top).squeeze(2)) - NUM_CLASSES // 2  # in the head's 0..255 frame
    shift = torch.zeros_like(out)
    shift[:, :, k:2 * k] = (start / head.mean_gain).unsqueeze(2)
    s = (z + NUM_CLASSES // 2 - start).clamp(0, NUM_CLASSES - 1)
    return head.log_prob_interval(out - shift, s, s)


def integer_window(head: LogisticMixtureHead, q: torch.Tensor, tables: dict[str, torch.Tensor]):
    """Integer head outputs (N, 3K) -> window starts of the centred latents (N,) and a weights function.

    The exact twin of ``window_log_prob``'s window: the centre is the most likely component's mean
    rounded to a level, all in integers; the weights are the head's integer CDF differences.
    """
    k, g = head.mixtures, head.grid
    mean = q[:, k:2 * k]
    top = q[:, :k].argmax(dim=1, keepdim=True)  # the first of equal logits: deterministic
    start = torch.div(mean.gather(1, top).squeeze(1) + g // 2, g, rounding_mode="floor") - NUM_CLASSES // 2
    shifted = q.clone()
    shifted[:, k:2 * k] -= start.unsqueeze(1) * g

    def weights(rows: np.ndarray) -> np.ndarray:
        return head.class_weights(shifted[torch.from_numpy(rows)], tables).numpy()

    return (start - NUM_CLASSES // 2).numpy(), weights


class IDF(nn.Module):
    """The trainable flow: straight-through rounded shifts, fake-quantized nets, exact integer latents."""

    def __init__(self, cfg: IDFConfig = IDFConfig()):
        super().__init__()
        self.cfg = cfg
        self.head = cfg.head()
        p = self.head.params
        self.perms = permutations(cfg)
        self.couplings = nn.ModuleList()
        for level in range(cfg.levels):
            c = cfg.channels(level)
            for _ in range(cfg.couplings):
                self.couplings.append(QuantResNet(ResNetShape(c - c // 4, c // 4, cfg.width, cfg.blocks), cfg.act_clip))
        self.splits = nn.ModuleList(
            QuantResNet(ResNetShape(cfg.channels(level) // 2, cfg.channels(level) // 2 * p, cfg.width, cfg.blocks),
                        cfg.act_clip, zero_output=False) for level in range(cfg.levels - 1))
        for net in self.splits:
            with torch.no_grad():
                net.out.weight.mul_(0.1)
                net.out.bias.copy_(self._initial_params().repeat(net.shape.outputs // p))
        self.top = nn.Parameter(self._initial_params().repeat(cfg.channels(cfg.levels - 1), 1))

    def _initial_params(self) -> torch.Tensor:
        """Components' means near 0 (a centred latent), scales of about e**3 levels."""
        k = self.head.mixtures
        return torch.cat([torch.zeros(k), torch.linspace(-0.2, 0.2, k), torch.ones(k)])

    def _couple(self, i: int, z: torch.Tensor) -> torch.Tensor:
        z = z[:, self.perms[i]]
        c = z.shape[1]
        za, zb = z[:, :c - c // 4], z[:, c - c // 4:]
        return torch.cat([za, zb + round_ste(SHIFT_GAIN * self.couplings[i](za))], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """log_prob: what a training step calls, through a distributed wrapper where there is one."""
        return self.log_prob(x)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) integers 0..255, sides multiples of cfg.multiple. Returns log p(x) in nats per image."""
        cfg, p = self.cfg, self.head.params
        z = squeeze(x.float() - NUM_CLASSES // 2)
        logp = torch.zeros(len(x), device=x.device)
        for level in range(cfg.levels):
            for j in range(cfg.couplings):
                z = self._couple(level * cfg.couplings + j, z)
            if level < cfg.levels - 1:
                c = z.shape[1] // 2
                z, y = z[:, :c], z[:, c:]
                out = self.splits[level](z)
                logp = logp + window_log_prob(self.head, out.view(len(x), c, p, *out.shape[2:]), y).sum((1, 2, 3))
                z = squeeze(z)
        b, c, h, w = z.shape
        out = self.top.view(1, c, p, 1, 1).expand(b, c, p, h, w)
        return logp + window_log_prob(self.head, out, z).sum((1, 2, 3))

    def integer_tensors(self) -> dict[str, torch.Tensor]:
        """Everything the exact model needs: integer nets, permutations, quantized top prior, head tables."""
        step, offset = self.head.output_grid()
        t: dict[str, torch.Tensor] = {}
        one = torch.ones(1, dtype=torch.float64)
        for i, net in enumerate(self.couplings):
            t.update(prefixed(f"coupling{i}", net.integer_tensors(one.repeat(net.shape.outputs) / SHIFT_GAIN,
                                                                 0 * one.repeat(net.shape.outputs))))
            t[f"perm{i}"] = self.perms[i].clone()
        for level, net in enumerate(self.splits):
            n = net.shape.outputs // len(step)
            t.update(prefixed(f"split{level}", net.integer_tensors(step.repeat(n), offset.repeat(n))))
        t["top"] = round_half_up(self.top.detach().double() / step + offset)
        t.update(prefixed("head", self.head.tables()))
        return t


class IntegerIDF(ExactFlow):
    """The exact flow, as a ``codecs.coding_model.LatentModel`` over (H, W, C) planes of 1 or 3 channels.

    Grey planes are shown as three equal channels and sides are padded (edge values) to a multiple of
    2**levels; the padding is coded with the image and cropped after decoding.
    """

    bounded = False

    def __init__(self, tensors: dict[str, torch.Tensor], cfg: IDFConfig):
        super().__init__(tensors, cfg)
        self.head = cfg.head()
        self.tables = unprefixed("head", tensors)
        n = cfg.levels * cfg.couplings
        self.couplings = [IntegerResNet(unprefixed(f"coupling{i}", tensors), cfg.blocks) for i in range(n)]
        self.splits = [IntegerResNet(unprefixed(f"split{level}", tensors), cfg.blocks) for level in range(cfg.levels - 1)]
        self.perms = [tensors[f"perm{i}"].long() for i in range(n)]
        for i, perm in enumerate(self.perms):
            if not torch.equal(torch.sort(perm).values, torch.arange(cfg.channels(i // cfg.couplings))):
                raise ValueError(f"perm{i} is not a permutation of its level's channels")
        self.inverse_perms = [torch.argsort(perm) for perm in self.perms]
        self.top = tensors["top"].long()
        if self.top.shape != (cfg.channels(cfg.levels - 1), self.head.params):
            raise ValueError("top prior has the wrong shape")

    # the exact bijection, on (1, C, H, W) int64 tensors

    def _couple(self, i: int, z: torch.Tensor, sign: int) -> torch.Tensor:
        c = z.shape[1]
        if sign > 0:
            z = z[:, self.perms[i]]
        za, zb = z[:, :c - c // 4], z[:, c - c // 4:]
        z = torch.cat([za, zb + sign * self.couplings[i](za)], 1)
        return z if sign > 0 else z[:, self.inverse_perms[i]]

    def _level(self, level: int, z: torch.Tensor, sign: int) -> torch.Tensor:
        order = range(self.cfg.couplings) if sign > 0 else reversed(range(self.cfg.couplings))
        for j in order:
            z = self._couple(level * self.cfg.couplings + j, z, sign)
        return z

    def _padded(self, shape: tuple[int, ...]) -> tuple[int, int]:
        if len(shape) != 3 or shape[2] not in (1, 3):
            raise ValueError(f"IDF codes (H, W, 1) or (H, W, 3) planes, not {shape}")
        m = self.cfg.multiple
        return -(-shape[0] // m) * m, -(-shape[1] // m) * m

    def _part_shape(self, shape: tuple[int, ...], k: int) -> tuple[int, int, int]:
        h, w = self._padded(shape)
        levels = self.cfg.levels
        level = levels - 1 if k == 0 else levels - 1 - k
        c = self.cfg.channels(level) // (1 if k == 0 else 2)
        return c, h >> (level + 1), w >> (level + 1)

    def part_sizes(self, shape: tuple[int, ...]) -> list[int]:
        return [int(np.prod(self._part_shape(shape, k))) for k in range(self.cfg.levels)]

    def image_latents(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, 3, H, W) integers -> [top z, y_{L-2}, ..., y_0], each (B, C, h, w)."""
        z = squeeze(x.long() - NUM_CLASSES // 2)
        ys = []
        for level in range(self.cfg.levels):
            z = self._level(level, z, +1)
            if level < self.cfg.levels - 1:
                c = z.shape[1] // 2
                ys.append(z[:, c:])
                z = squeeze(z[:, :c])
        return [z] + ys[::-1]

    def _descend(self, parts: list[torch.Tensor], upto: int | None) -> torch.Tensor:
        """Invert from the top: the kept half that conditions part `upto`, or (None) the whole image."""
        z = parts[0]
        for level in range(self.cfg.levels - 1, -1, -1):
            z = self._level(level, z, -1)
            if level == 0:
                break
            z = unsqueeze(z)
            k = self.cfg.levels - level
            if k == upto:
                return z
            z = torch.cat([z, parts[k]], 1)
        return unsqueeze(z) + NUM_CLASSES // 2

    # codecs.coding_model.LatentModel; every image of a batch goes through the same integer operations as alone

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        return [p[0] for p in self.forward_batch(x[None])]

    def forward_batch(self, xs: np.ndarray) -> list[np.ndarray]:
        """(B, H, W, C) -> parts, each (B, n)."""
        h, w = self._padded(xs.shape[1:])
        a = torch.from_numpy(np.asarray(xs, dtype=np.int64)).permute(0, 3, 1, 2)
        a = a.expand(-1, 3, -1, -1) if a.shape[1] == 1 else a
        a = torch.nn.functional.pad(a.double(), (0, w - xs.shape[2], 0, h - xs.shape[1]), mode="replicate").long()
        return [p.reshape(len(xs), -1).numpy() for p in self.image_latents(a)]

    def _parts(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> list[torch.Tensor]:
        return [torch.from_numpy(np.asarray(p, dtype=np.int64)).view(-1, *self._part_shape(shape, k))
                for k, p in enumerate(parts)]

    def prior(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray]):
        starts, weights = self.prior_batch(shape, k, [p[None] for p in parts], 1)
        return starts[0], lambda rows: weights(rows)[0]

    def prior_batch(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray], batch: int):
        c, h, w = self._part_shape(shape, k)
        p = self.head.params
        n = c * h * w
        if k == 0:  # one free mixture per channel
            starts, weights = integer_window(self.head, self.top.view(c, p), self.tables)
            top = per_channel(weights(np.arange(c)), h * w)

            def top_weights(rows: np.ndarray) -> np.ndarray:
                w = top(rows)
                return np.broadcast_to(w, (batch, *w.shape))

            return np.broadcast_to(np.repeat(starts, h * w), (batch, n)), top_weights
        cond = self._descend(self._parts(shape, parts), k)
        q = self.splits[self.cfg.levels - 1 - k](cond).view(batch, c, p, h * w).transpose(2, 3)
        starts, weights = integer_window(self.head, q.reshape(-1, p), self.tables)
        offsets = np.arange(batch)[:, None] * n

        def batch_weights(rows: np.ndarray) -> np.ndarray:
            return weights((offsets + rows).reshape(-1)).reshape(batch, len(rows), -1)

        return starts.reshape(batch, n), batch_weights

    def inverse(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray:
        return self.inverse_batch(shape, [p[None] for p in parts])[0]

    def inverse_batch(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray:
        x = self._descend(self._parts(shape, parts), None).permute(0, 2, 3, 1)[:, :shape[0], :shape[1], :shape[2]]
        return x.numpy()
