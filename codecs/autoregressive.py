"""Coding an array step group by step group under an autoregressive model (ARDM-style).

The codec sees the model only through ``SteppedModel`` (coding_model.py): which dimensions each
call generates, and the probabilities of those dimensions given the ones known so far. The encoder pushes groups in
reverse so the decoder pops them in generation order, each group from one model call whose input
is exactly what the decoder will have seen at that point. A group's tables are made and coded in
chunks of rows, so memory stays bounded however many dimensions one call generates.

Arrays of one shape can be coded as a batch, each onto its own coder: they share the schedule, hence
the known mask of every call, so one call of the model's ``condition_batch`` serves them all; what is
pushed onto each coder is exactly what coding that array alone pushes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .ans import AnsCoder, frequency_table, pop_symbols, push_symbols
from .coding_model import BatchWeights, SteppedModel, Weights
from .quantize import DEFAULT_PRECISION, ideal_bits

Progress = Callable[[int], None]  # called with the number of model calls just finished
CHUNK = 1 << 14  # table rows made at once: 16k x 256 float64 = 32 MB


def _chunks(idx: np.ndarray, batch: int = 1) -> list[np.ndarray]:
    """One call's indices in runs of CHUNK rows over the whole batch (the encoder pushes them in reverse).

    Where a run ends changes no byte: a table codes its rows one symbol at a time, in order."""
    rows = max(1, CHUNK // batch)
    return [idx[lo:lo + rows] for lo in range(0, len(idx), rows)]


@dataclass
class AutoregressiveCodec:
    model: SteppedModel
    shape: tuple[int, ...]
    budget: int
    precision: int = DEFAULT_PRECISION
    progress: Progress | None = None
    order: np.ndarray | None = None  # generation order; None: the model's fixed order for the shape
    _plan: Sequence[np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def calls(self) -> int:
        return len(self._schedule())

    @property
    def steps(self) -> int:
        """Progress units: network calls."""
        return self.calls

    def _schedule(self) -> Sequence[np.ndarray]:
        """Made once per codec: a large image's order takes seconds, and the decoder counts its calls
        (the --max-calls check) before it codes them."""
        if self._plan is None:
            shape = self.model.symbol_shape(self.shape)
            self._plan = (self.model.schedule(shape, self.budget) if self.order is None
                          else self.model.schedule(shape, self.budget, self.order))
        return self._plan

    def _condition(self, x: np.ndarray, known: np.ndarray) -> Weights:
        weights = self.model.condition(x, known)
        if self.progress:
            self.progress(1)
        return weights

    def _condition_batch(self, xs: np.ndarray, known: np.ndarray) -> BatchWeights:
        weights = self.model.condition_batch(xs, known)
        if self.progress:
            self.progress(1)
        return weights

    def push(self, coder: AnsCoder, x: np.ndarray) -> None:
        self.push_batch([coder], [x])

    def push_batch(self, coders: Sequence[AnsCoder], xs: Sequence[np.ndarray], bits: np.ndarray | None = None) -> None:
        """Push xs[i] onto coders[i], each byte for byte as push() alone; one model call per group for all.

        bits: if given, bits[i] grows by xs[i]'s ideal code length, from the same model calls."""
        if len(coders) != len(xs):
            raise ValueError(f"{len(xs)} arrays for {len(coders)} coders")
        for x in xs:
            if x.shape != self.shape:
                raise ValueError(f"array shape {x.shape} does not match codec shape {self.shape}")
        sym = np.stack([self.model.to_symbols(x) for x in xs])
        known = np.ones(sym.shape[1:], dtype=bool)
        for idx in reversed(self._schedule()):
            known.flat[idx] = False  # now exactly what the decoder knows before this group
            weights = self._condition_batch(np.where(known, sym, 0), known)
            for part in reversed(_chunks(idx, len(xs))):
                w = weights(part)
                symbols = sym.reshape(len(xs), -1)[:, part]
                if bits is not None:
                    bits += ideal_bits(w, symbols)
                for coder, s, table in zip(coders, symbols, frequency_table(w, self.precision)):
                    push_symbols(coder, s, table)

    def ideal_bits(self, x: np.ndarray) -> float:
        """-log2 p(x) under the model's own (unquantized) probabilities: what coding approaches."""
        x = self.model.to_symbols(x)
        known = np.zeros(x.shape, dtype=bool)
        bits = 0.0
        for idx in self._schedule():
            weights = self.model.condition(np.where(known, x, 0), known)
            for part in _chunks(idx):
                bits += ideal_bits(weights(part), x.flat[part])
            known.flat[idx] = True
        return float(bits)

    def symbol_frequencies(self, x: np.ndarray) -> np.ndarray:
        """The count of every coded symbol in the exact table it is coded with (out of 2**precision each).

        Their product over 2**(precision * count) is the probability the coder gives x, the same on
        every machine, for callers that must weigh orders identically on both sides (bits-back)."""
        x = self.model.to_symbols(x)
        known = np.zeros(x.shape, dtype=bool)
        out = []
        for idx in self._schedule():
            weights = self._condition(np.where(known, x, 0), known)
            for part in _chunks(idx):
                out.append(frequency_table(weights(part), self.precision)[np.arange(len(part)), x.flat[part]])
            known.flat[idx] = True
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)

    def pop(self, coder: AnsCoder) -> np.ndarray:
        return self.pop_batch([coder])[0]

    def pop_batch(self, coders: Sequence[AnsCoder]) -> list[np.ndarray]:
        """One array from each coder, each as pop() alone gives it; one model call per group for all."""
        sym = np.zeros((len(coders), *self.model.symbol_shape(self.shape)), dtype=np.int64)
        known = np.zeros(sym.shape[1:], dtype=bool)
        schedule = self._schedule()
        for step, idx in enumerate(schedule):
            if all(coder.is_empty() for coder in coders):
                self._rest_is_zero(len(schedule) - step)
                break
            weights = self._condition_batch(sym, known)
            for part in _chunks(idx, len(coders)):
                tables = frequency_table(weights(part), self.precision)
                for s, coder, table in zip(sym, coders, tables):
                    s.flat[part] = pop_symbols(coder, table)
            known.flat[idx] = True
        return [self.model.from_symbols(s) for s in sym]

    def _rest_is_zero(self, calls: int) -> None:
        """The remaining symbols once every coder is empty: all 0, left as they are, without their calls.

        An empty rANS coder pops symbol 0 under any table (its interval starts at 0 and holds at least
        one count) and stays empty, so these are the very symbols the calls would give. It is no bound
        on forged files (a few payload words can still claim any size; --max-pixels and --max-calls bound
        those), but a header claiming a huge image over an empty or used-up payload costs no network
        call before the pixel checksum refuses it, and a genuine mostly-black image decodes faster.
        """
        if self.progress and calls:
            self.progress(calls)
