"""Coding an array as the latents of a discrete flow, under the flow's factorized priors.

The codec sees the model only through ``LatentModel`` (coding_model.py): the array's latent parts
in decoding order, the prior of each part given the parts before it, and the inverse. Each latent
gets its own table of ``WINDOW`` classes starting at a model-given integer; for unbounded latents (an integer flow) the
first and last classes are tails, and a latent in a tail codes its distance past the window's edge
with an Elias-gamma escape under uniform tables. The encoder records every push in decoding order
and pushes them in reverse, so the decoder pops them in order; the encoder's priors come from the
same parts, through the same inverse steps, as the decoder's.

Arrays of one shape can be coded as a batch, each onto its own coder, with one pass of the flow for
all of them (the model's ``forward_batch``, ``prior_batch`` and ``inverse_batch``); what is pushed
onto each coder is exactly what coding that array alone pushes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .ans import AnsCoder, frequency_table, pop_symbols, push_symbols
from .autoregressive import CHUNK
from .coding_model import LatentModel
from .quantize import DEFAULT_PRECISION, ideal_bits

WINDOW = 256  # classes per latent table
ESCAPE_LENGTHS = 41  # an escape codes a distance below 2**41, far beyond any latent an 8-bit image yields


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


def _escape_bits(distance: np.ndarray) -> float:
    """The uniform cost of the escapes _escape_ops makes: the bit length's symbol, then the bits below the top one."""
    return float(len(distance) * np.log2(ESCAPE_LENGTHS) + np.floor(np.log2(distance + 1.0)).sum())


def _pop_escapes(coder: AnsCoder, count: int) -> np.ndarray:
    n = pop_symbols(coder, frequency_table(np.ones((count, ESCAPE_LENGTHS), dtype=np.int64))).astype(np.int64)
    v = np.ones(count, dtype=np.int64)
    for j in range(int(n.max()) if count else 0):
        rows = n > j
        v[rows] = 2 * v[rows] + pop_symbols(coder, frequency_table(np.ones((int(rows.sum()), 2), dtype=np.int64)))
    return v - 1


def _chunk_rows(n: int, batch: int = 1) -> list[slice]:
    """Runs of CHUNK table rows over the whole batch; where a run ends changes no byte."""
    rows = max(1, CHUNK // batch)
    return [slice(lo, min(n, lo + rows)) for lo in range(0, n, rows)]


@dataclass
class FlowCodec:
    model: LatentModel
    shape: tuple[int, ...]
    precision: int = DEFAULT_PRECISION
    progress: Callable[[int], None] | None = None  # called with the latents of one array just coded
    calls: int = 1  # one pass of the flow, whatever the image

    @property
    def steps(self) -> int:
        """Progress units of one array: its latents, ticked chunk by chunk as their tables are coded (the
        tables, not the flow's pass, take most of a large image's time)."""
        return sum(self.model.part_sizes(self.shape))

    def _tick(self, latents: int) -> None:
        if self.progress:
            self.progress(latents)

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

    def push(self, coder: AnsCoder, x: np.ndarray) -> None:
        self.push_batch([coder], [x])

    def push_batch(self, coders: Sequence[AnsCoder], xs: Sequence[np.ndarray], bits: np.ndarray | None = None) -> None:
        """Push xs[i] onto coders[i], each byte for byte as push() alone, with one pass of the flow for all;
        bits[i], if given, grows by xs[i]'s ideal code length.

        Each coder gets, part after part, the part's window symbols then its escapes (in reverse, so
        the decoder pops them in that order); every table is made before anything is pushed."""
        if len(coders) != len(xs):
            raise ValueError(f"{len(xs)} arrays for {len(coders)} coders")
        for x in xs:
            if x.shape != self.shape:
                raise ValueError(f"array shape {x.shape} does not match codec shape {self.shape}")
        parts = self.model.forward_batch(np.stack(xs))
        coded = []
        for k, part in enumerate(parts):
            starts, weights = self.model.prior_batch(self.shape, k, parts[:k], len(xs))
            symbols = [self._symbols(p, s) for p, s in zip(part, starts)]
            escapes = [_escape_ops(distance) if len(distance) else [] for _, _, distance in symbols]
            if bits is not None:
                bits += [_escape_bits(distance) for _, _, distance in symbols]
            coded.append((weights, [sym for sym, _, _ in symbols], escapes))
        for weights, symbols, escapes in reversed(coded):
            for coder, ops in zip(coders, escapes):
                for sym, table in reversed(ops):
                    push_symbols(coder, sym, table())
            for rows in reversed(_chunk_rows(len(symbols[0]), len(xs))):
                w = weights(np.arange(rows.start, rows.stop))
                if bits is not None:
                    bits += ideal_bits(w, np.stack([sym[rows] for sym in symbols]))
                for coder, sym, table in zip(coders, symbols, frequency_table(w, self.precision)):
                    push_symbols(coder, sym[rows], table)
                self._tick(rows.stop - rows.start)

    def pop(self, coder: AnsCoder) -> np.ndarray:
        return self.pop_batch([coder])[0]

    def pop_batch(self, coders: Sequence[AnsCoder]) -> list[np.ndarray]:
        """One array from each coder, each as pop() alone gives it, with one pass of the flow for all."""
        batch = len(coders)
        parts: list[np.ndarray] = []
        for k in range(len(self.model.part_sizes(self.shape))):
            starts, weights = self.model.prior_batch(self.shape, k, parts, batch)
            sym = np.zeros(starts.shape, dtype=np.int64)
            for rows in _chunk_rows(starts.shape[1], batch):
                tables = frequency_table(weights(np.arange(rows.start, rows.stop)), self.precision)
                for b, (coder, table) in enumerate(zip(coders, tables)):
                    sym[b, rows] = pop_symbols(coder, table)
                self._tick(rows.stop - rows.start)
            part = starts + sym
            if not self.model.bounded:
                for b, coder in enumerate(coders):
                    low, tail = sym[b] == 0, (sym[b] == 0) | (sym[b] == WINDOW - 1)
                    if tail.any():
                        distance = _pop_escapes(coder, int(tail.sum()))
                        part[b, tail] += np.where(low[tail], -distance, distance)
            parts.append(part)
        return list(self.model.inverse_batch(self.shape, parts))

    def ideal_bits(self, x: np.ndarray) -> float:
        """-log2 p(x) under the model's own (unquantized) tables, escapes at their uniform cost."""
        parts = self.model.forward(x)
        bits = 0.0
        for k, part in enumerate(parts):
            starts, weights = self.model.prior(self.shape, k, parts[:k])
            sym, _, distance = self._symbols(part, starts)
            for rows in _chunk_rows(len(part)):
                bits += ideal_bits(weights(np.arange(rows.start, rows.stop)), sym[rows])
            bits += _escape_bits(distance)
        return float(bits)


FLOW_BUDGET = 1  # the budget a flow's file records: one pass of the flow, whatever was asked
