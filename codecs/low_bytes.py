"""The low bits of 16-bit samples, coded given their high bytes (which the 8-bit model codes first).

A sample v is split as v - offset = high << shift | low, offset the image's smallest sample and shift
the fewest low bits that leave at most 8 bits for `high`: data using 10 or 12 of its 16 bits (elevation
maps, medical scans) gives the 8-bit model a full-contrast image instead of a near-black one.

Samples are visited coarse to fine (hierarchical interpolation): first pixel (0, 0), then for
every step s = S/2, ..., 1 the centres of the 2s-grid's squares, predicted from their four diagonal
neighbours at distance s, then the edge midpoints, from their four axial neighbours. Every
neighbour is fully known by then, so each pass is one vectorized step, and the prediction is the
whole 16-bit value: a low byte is cheap where the image is smooth at 16-bit precision.

A sample's 256 possible low bytes (its high byte is known) get Laplace weights exp(-|v - prediction| / t),
with t = (base + m * spread of the neighbours) / 4. The encoder picks (m, base) per pass from a
small set (the fewest ideal bits on a sample of the pass) and codes the choice uniformly. The exponential
is an integer table built by integer multiplication, so the decoder's tables are identical anywhere.
(Why Laplace weights and the mean of four: docs/how-it-works.md, 16-bit images.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ans import AnsCoder, frequency_table, pop_symbols, push_symbols
from .autoregressive import CHUNK  # table rows made at once
from .quantize import DEFAULT_PRECISION, ideal_bits

SCALE_MULTIPLIERS = (0, 1, 2, 4, 8)  # m: t gets m / 4 of the neighbours' spread
SCALE_BASES = (2, 4, 8, 16, 32, 64, 256, 1024)  # t's base, in quarters
DEFAULT_CHOICE = (2, 5)  # t = 16 + spread / 2, for passes too small to be worth choosing for
MIN_PIXELS_TO_CHOOSE = 256  # a choice costs log2(40) bits, so tiny passes take the default
STEPS = 16  # exponential table entries per unit of |v - prediction| / t
_DECAY = 1008687096  # round(2**30 * exp(-1 / STEPS)), fixed here so no float exp is ever needed


def _exp_table(n: int = 24 * STEPS) -> np.ndarray:
    """2**30 * exp(-i / STEPS), by integer multiplication (the same integers on every machine)."""
    table = [1 << 30]
    for _ in range(n - 1):
        table.append(table[-1] * _DECAY >> 30)
    return np.array(table, dtype=np.int64)


_EXP = _exp_table()
SEARCH_ROWS = 2048  # encoder only: rows of a pass sampled to pick its choice
MAX_SHIFT = 8
_CHOICE_TABLE = frequency_table(np.ones((1, len(SCALE_MULTIPLIERS) * len(SCALE_BASES)), dtype=np.int64))
_BYTE_TABLE = frequency_table(np.ones((1, 256), dtype=np.int64))
_SHIFT_TABLE = frequency_table(np.ones((1, MAX_SHIFT + 1), dtype=np.int64))


def sample_range(a: np.ndarray) -> tuple[int, int]:
    """(offset, shift) for 16-bit samples: the smallest sample, and the low bits that leave 8 for the model."""
    offset = int(a.min()) if a.size else 0
    span = int(a.max()) - offset if a.size else 0
    return offset, max(0, span.bit_length() - 8)


def push_range(coder: AnsCoder, offset: int, shift: int) -> None:
    """Offset and shift as uniform symbols (about 20 bits), popped by pop_range."""
    push_symbols(coder, np.array([shift]), _SHIFT_TABLE)
    push_symbols(coder, np.array([offset >> 8]), _BYTE_TABLE)
    push_symbols(coder, np.array([offset & 0xFF]), _BYTE_TABLE)


def pop_range(coder: AnsCoder) -> tuple[int, int]:
    low, high = pop_symbols(coder, _BYTE_TABLE)[0], pop_symbols(coder, _BYTE_TABLE)[0]
    return int(high) << 8 | int(low), int(pop_symbols(coder, _SHIFT_TABLE)[0])


@dataclass(frozen=True)
class Pass:
    ys: np.ndarray  # pixel rows and columns visited in this pass
    xs: np.ndarray
    offsets: tuple[tuple[int, int], ...]  # neighbours it is predicted from, all known by now


def passes(height: int, width: int) -> list[Pass]:
    """Every pixel exactly once, coarse to fine, each pass predicted from earlier ones only."""
    out = [Pass(np.zeros(1, np.int64), np.zeros(1, np.int64), ())]
    step = 1
    while step < max(height, width):
        step *= 2
    while step > 1:
        s = step // 2
        centre_y, centre_x = np.arange(s, height, step), np.arange(s, width, step)
        grid_y, grid_x = np.arange(0, height, step), np.arange(0, width, step)
        diag = ((-s, -s), (-s, s), (s, -s), (s, s))
        axial = ((-s, 0), (s, 0), (0, -s), (0, s))
        out.append(Pass(*_mesh(centre_y, centre_x), diag))
        ey1, ex1 = _mesh(centre_y, grid_x)
        ey2, ex2 = _mesh(grid_y, centre_x)
        out.append(Pass(np.concatenate([ey1, ey2]), np.concatenate([ex1, ex2]), axial))
        step = s
    return [p for p in out if len(p.ys)]


def _mesh(ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return yy.ravel().astype(np.int64), xx.ravel().astype(np.int64)


def _context(values: np.ndarray, p: Pass) -> tuple[np.ndarray, np.ndarray]:
    """Prediction (rounded mean of the known neighbours) and spread (max - min), per (pixel, channel)."""
    height, width, channels = values.shape
    total = np.zeros((len(p.ys), channels), np.int64)
    count = np.zeros((len(p.ys), 1), np.int64)
    low = np.full((len(p.ys), channels), 1 << 16, np.int64)
    high = np.full((len(p.ys), channels), -1, np.int64)
    for dy, dx in p.offsets:
        y, x = p.ys + dy, p.xs + dx
        ok = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        v = values[np.where(ok, y, 0), np.where(ok, x, 0)]
        total += np.where(ok[:, None], v, 0)
        count += ok[:, None]
        low = np.where(ok[:, None], np.minimum(low, v), low)
        high = np.where(ok[:, None], np.maximum(high, v), high)
    none = count == 0
    prediction = np.where(none, -(1 << 24), (total + count // 2) // np.maximum(count, 1))  # none: uniform
    spread = np.where(none, 0, high - low)
    return prediction.ravel(), spread.ravel()


def _weights(high: np.ndarray, prediction: np.ndarray, spread: np.ndarray, choice: tuple[int, int],
             shift: int) -> np.ndarray:
    """(n, 2**shift) integer weights of every low part, at most 2**30 (quantize_probabilities' range)."""
    t4 = SCALE_BASES[choice[1]] + spread * SCALE_MULTIPLIERS[choice[0]]  # 4 t
    d = np.abs((high[:, None] << shift) + np.arange(1 << shift, dtype=np.int64)[None, :] - prediction[:, None])
    return np.maximum(_EXP[np.minimum(d * (4 * STEPS) // t4[:, None], len(_EXP) - 1)], 1)  # no row all zero


def _choose(high: np.ndarray, low: np.ndarray, prediction: np.ndarray, spread: np.ndarray,
            shift: int) -> tuple[int, int]:
    """The encoder's pick of (m, base) for a pass: fewest ideal bits on a sample of its rows."""
    rows = np.linspace(0, len(low) - 1, min(len(low), SEARCH_ROWS)).astype(np.int64)
    best, best_bits = DEFAULT_CHOICE, np.inf
    for m in range(len(SCALE_MULTIPLIERS)):
        for b in range(len(SCALE_BASES)):
            w = _weights(high[rows], prediction[rows], spread[rows], (m, b), shift).astype(np.float64)
            p = np.maximum(w[np.arange(len(rows)), low[rows]] / w.sum(axis=1), 2.0 ** -DEFAULT_PRECISION)
            bits = -np.log2(p).sum()  # about what the quantized table costs, each symbol at least one count
            if bits < best_bits:
                best, best_bits = (m, b), bits
    return best


def _encode_choice(choice: tuple[int, int]) -> int:
    return choice[0] * len(SCALE_BASES) + choice[1]


def _decode_choice(symbol: int) -> tuple[int, int]:
    return divmod(int(symbol), len(SCALE_BASES))


@dataclass
class LowByteCodec:
    """Codes the (H, W, C) low parts (< 2**shift) of samples whose (H, W, C) high parts are `high`."""

    high: np.ndarray
    shift: int = MAX_SHIFT
    precision: int = DEFAULT_PRECISION

    def _chosen(self, p: Pass) -> bool:
        return len(p.ys) * self.high.shape[2] >= MIN_PIXELS_TO_CHOOSE

    def _encoder_passes(self, low: np.ndarray):
        """Per pass, coarse first: the pass, its rows' high and low parts, prediction, spread and choice."""
        high = self.high.astype(np.int64)
        values = (high << self.shift) | low.astype(np.int64)
        for p in passes(*high.shape[:2]):
            prediction, spread = _context(values, p)
            h, lo = high[p.ys, p.xs].ravel(), low[p.ys, p.xs].ravel().astype(np.int64)
            choice = _choose(h, lo, prediction, spread, self.shift) if self._chosen(p) else DEFAULT_CHOICE
            yield p, h, lo, prediction, spread, choice

    def _table(self, h, prediction, spread, choice, a: int) -> np.ndarray:
        sl = slice(a, a + CHUNK)
        return _weights(h[sl], prediction[sl], spread[sl], choice, self.shift)

    def ideal_bits(self, low: np.ndarray) -> float:
        """-log2 p(low | high) under the unquantized weights (the per-pass choices not counted)."""
        bits = 0.0
        for _, h, lo, prediction, spread, choice in self._encoder_passes(low) if self.shift else ():
            for a in range(0, len(lo), CHUNK):
                bits += ideal_bits(self._table(h, prediction, spread, choice, a), lo[a:a + CHUNK])
        return float(bits)

    def push(self, coder: AnsCoder, low: np.ndarray, bits: np.ndarray | None = None) -> None:
        """bits: if given, a one-element array that grows by low's ideal code length (as ideal_bits)."""
        # the passes' contexts use only earlier passes, so they can be made coarse first and pushed in reverse
        for p, h, lo, prediction, spread, choice in reversed(list(self._encoder_passes(low)) if self.shift else []):
            for a in reversed(range(0, len(lo), CHUNK)):
                weights = self._table(h, prediction, spread, choice, a)
                if bits is not None:
                    bits += ideal_bits(weights, lo[a:a + CHUNK])
                push_symbols(coder, lo[a:a + CHUNK], frequency_table(weights, self.precision))
            if self._chosen(p):
                push_symbols(coder, np.array([_encode_choice(choice)]), _CHOICE_TABLE)

    def pop(self, coder: AnsCoder) -> np.ndarray:
        high = self.high.astype(np.int64)
        values = high << self.shift
        channels = high.shape[2]
        for p in passes(*high.shape[:2]) if self.shift else ():
            prediction, spread = _context(values, p)
            h = high[p.ys, p.xs].ravel()
            choice = _decode_choice(pop_symbols(coder, _CHOICE_TABLE)[0]) if self._chosen(p) else DEFAULT_CHOICE
            lo = np.concatenate([
                pop_symbols(coder, frequency_table(self._table(h, prediction, spread, choice, a), self.precision))
                for a in range(0, len(h), CHUNK)])
            values[p.ys, p.xs] = (h << self.shift | lo).reshape(len(p.ys), channels)
        return (values & ((1 << self.shift) - 1)).astype(np.uint8)
