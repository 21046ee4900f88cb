"""Coding an array as the latents of a discrete flow, under the flow's factorized priors.

The codec sees the model only through ``LatentModel``: the array's latent parts in decoding order,
the prior of each part given the parts before it, and the inverse. Each latent gets its own table of
``WINDOW`` classes starting at a model-given integer; for unbounded latents (an integer flow) the
first and last classes are tails, and a latent in a tail codes its distance past the window's edge
with an Elias-gamma escape under uniform tables. The encoder records every push in decoding order
and pushes them in reverse, so the decoder pops them in order; the encoder's priors come from the
same parts, through the same inverse steps, as the decoder's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from .ans import AnsCoder, frequency_table, pop_symbols, push_symbols
from .autoregressive import CHUNK, Weights
from .quantize import DEFAULT_PRECISION

WINDOW = 256  # classes per latent table
ESCAPE_LENGTHS = 41  # an escape codes a distance below 2**41, far beyond any latent an 8-bit image yields


class LatentModel(Protocol):
    bounded: bool  # latents always lie in [start, start + WINDOW): no tails, no escapes

    def parts(self, shape: tuple[int, ...]) -> int:
        """How many latent parts an array of `shape` maps to."""

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """The array's latents: flat int64 parts in decoding order."""

    def prior(self, shape: tuple[int, ...], k: int, parts: list[np.ndarray]) -> tuple[np.ndarray, Weights]:
        """Part k's window starts (int64, one per latent) and class weights, given parts 0..k-1."""

    def inverse(self, shape: tuple[int, ...], parts: list[np.ndarray]) -> np.ndarray: ...


class UndecodableError(ValueError):
    """Latents that no array of the given shape maps to (a damaged stream)."""


Op = tuple[np.ndarray, Callable[[], np.ndarray]]  # symbols and the thunk making their table


def _uniform(rows: int, classes: int) -> Callable[[], np.ndarray]:
    return lambda: frequency_table(np.ones((rows, classes), dtype=np.int64))


def _escape_ops(distance: np.ndarray) -> list[Op]:
    """Elias gamma of distance + 1: its bit length under a uniform table, then its bits below the top one."""
    v = distance + 1
    n = np.floor(np.log2(v.astype(np.float64))).astype(np.int64) if len(v) else v
    n = n + (v >> n >= 2) - (v >> n == 0)  # exact floor(log2) whatever the float rounding
    if len(n) and n.max() >= ESCAPE_LENGTHS:
        raise ValueError("latent too far outside its prior's window")
    ops: list[Op] = [(n, _uniform(len(n), ESCAPE_LENGTHS))]
    for j in range(int(n.max()) if len(n) else 0):
        rows = n > j
        ops.append((((v[rows] >> (n[rows] - 1 - j)) & 1), _uniform(int(rows.sum()), 2)))
    return ops


def _pop_escapes(coder: AnsCoder, count: int) -> np.ndarray:
    n = pop_symbols(coder, frequency_table(np.ones((count, ESCAPE_LENGTHS), dtype=np.int64))).astype(np.int64)
    v = np.ones(count, dtype=np.int64)
    for j in range(int(n.max()) if count else 0):
        rows = n > j
        v[rows] = 2 * v[rows] + pop_symbols(coder, frequency_table(np.ones((int(rows.sum()), 2), dtype=np.int64)))
    return v - 1


def _chunk_rows(n: int) -> list[slice]:
    return [slice(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]


@dataclass
class FlowCodec:
    model: LatentModel
    shape: tuple[int, ...]
    precision: int = DEFAULT_PRECISION
    progress: Callable[[int], None] | None = None
    calls: int = 1  # one pass of the flow, whatever the image

    def _tick(self) -> None:
        if self.progress:
            self.progress(1)

    def _symbols(self, part: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Window symbols, and the rows in the low / high tail with their distance past the edge."""
        s = part - starts
        if self.model.bounded:
            if len(s) and (s.min() < 0 or s.max() >= WINDOW):
                raise ValueError("latent outside its bounded window")
            return s, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        sym = np.clip(s, 0, WINDOW - 1)
        tail = (sym == 0) | (sym == WINDOW - 1)
        distance = np.where(sym[tail] == 0, -s[tail], s[tail] - (WINDOW - 1))
        return sym, tail, distance

    def _ops(self, x: np.ndarray) -> list[Op]:
        parts = self.model.forward(x)
        ops: list[Op] = []
        for k, part in enumerate(parts):
            starts, weights = self.model.prior(self.shape, k, parts[:k])
            sym, tail, distance = self._symbols(part, starts)
            for rows in _chunk_rows(len(part)):
                ops.append((sym[rows], lambda rows=rows, weights=weights: frequency_table(
                    weights(np.arange(rows.start, rows.stop)), self.precision)))
            if len(distance):
                ops.extend(_escape_ops(distance))
        return ops

    def push(self, coder: AnsCoder, x: np.ndarray) -> None:
        if x.shape != self.shape:
            raise ValueError(f"array shape {x.shape} does not match codec shape {self.shape}")
        ops = self._ops(x)
        for symbols, table in reversed(ops):
            push_symbols(coder, symbols, table())
        self._tick()

    def pop(self, coder: AnsCoder) -> np.ndarray:
        parts: list[np.ndarray] = []
        for k in range(self.model.parts(self.shape)):
            starts, weights = self.model.prior(self.shape, k, parts)
            sym = np.concatenate([np.zeros(0, dtype=np.int64)] + [
                pop_symbols(coder, frequency_table(weights(np.arange(r.start, r.stop)), self.precision)).astype(np.int64)
                for r in _chunk_rows(len(starts))])
            part = starts + sym
            if not self.model.bounded:
                low, tail = sym == 0, (sym == 0) | (sym == WINDOW - 1)
                if tail.any():
                    distance = _pop_escapes(coder, int(tail.sum()))
                    part[tail] += np.where(low[tail], -distance, distance)
            parts.append(part)
        self._tick()
        return self.model.inverse(self.shape, parts)

    def ideal_bits(self, x: np.ndarray) -> float:
        """-log2 p(x) under the model's own (unquantized) tables, escapes at their uniform cost."""
        parts = self.model.forward(x)
        bits = 0.0
        for k, part in enumerate(parts):
            starts, weights = self.model.prior(self.shape, k, parts[:k])
            sym, _, distance = self._symbols(part, starts)
            for rows in _chunk_rows(len(part)):
                w = weights(np.arange(rows.start, rows.stop))
                w = (np.maximum(w, 1) if np.issubdtype(w.dtype, np.integer) else w).astype(np.float64)  # 0 -> 2**-30
                bits -= np.log2(w[np.arange(len(w)), sym[rows]] / w.sum(axis=1)).sum()
            if len(distance):
                bits += len(distance) * np.log2(ESCAPE_LENGTHS) + np.floor(np.log2(distance + 1.0)).sum()
        return float(bits)


FLOW_BUDGET = 1  # the budget a flow's file records: one pass of the flow, whatever was asked


def is_latent_model(model: object) -> bool:
    """Whether a coding model is a flow (``LatentModel``) rather than a stepped autoregressive model."""
    return all(hasattr(model, name) for name in ("bounded", "parts", "forward", "prior", "inverse"))
