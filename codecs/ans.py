"""Composable push/pop codecs over constriction's rANS stack.

A codec pushes a value onto an ``AnsCoder`` and pops it back; since ANS is a stack, a sequence of
codecs pushes in reverse and pops in order (``Serial``). Every table reaching constriction has gone
through ``quantize_probabilities`` and is a float64, C-contiguous array of integer frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import constriction
import numpy as np

from .quantize import DEFAULT_PRECISION, quantize_probabilities

AnsCoder = constriction.stream.stack.AnsCoder
_CATEGORICAL = constriction.stream.model.Categorical(perfect=False)


class Codec(Protocol):
    def push(self, coder: AnsCoder, value: Any) -> None: ...

    def pop(self, coder: AnsCoder) -> Any: ...


def frequency_table(probs: np.ndarray, precision: int = DEFAULT_PRECISION) -> np.ndarray:
    """(n, K) weights -> the float64 C-contiguous integer table constriction gets."""
    return np.ascontiguousarray(quantize_probabilities(probs, precision), dtype=np.float64)


def push_symbols(coder: AnsCoder, symbols: np.ndarray, table: np.ndarray) -> None:
    """Push symbols[i] under row i of a table from `frequency_table`, in one call."""
    if len(symbols):
        coder.encode_reverse(np.ascontiguousarray(symbols, dtype=np.int32), _CATEGORICAL, table)


def pop_symbols(coder: AnsCoder, table: np.ndarray) -> np.ndarray:
    if not len(table):
        return np.zeros(0, dtype=np.int32)
    return np.asarray(coder.decode(_CATEGORICAL, table), dtype=np.int32)


@dataclass
class CategoricalCodec:
    """A batch of symbols, each with its own distribution (rows of `probs`)."""

    probs: np.ndarray
    precision: int = DEFAULT_PRECISION

    def push(self, coder: AnsCoder, symbols: np.ndarray) -> None:
        push_symbols(coder, symbols, frequency_table(self.probs, self.precision))

    def pop(self, coder: AnsCoder) -> np.ndarray:
        return pop_symbols(coder, frequency_table(self.probs, self.precision))


@dataclass
class Serial:
    """Codes a tuple of values, one codec each; the first value is popped first."""

    codecs: Sequence[Codec]

    def push(self, coder: AnsCoder, values: Sequence[Any]) -> None:
        if len(values) != len(self.codecs):
            raise ValueError(f"expected {len(self.codecs)} values, got {len(values)}")
        for codec, value in reversed(list(zip(self.codecs, values))):
            codec.push(coder, value)

    def pop(self, coder: AnsCoder) -> list[Any]:
        return [codec.pop(coder) for codec in self.codecs]

    def push_batch(self, coders: Sequence[AnsCoder], values: Sequence[Sequence[Any]],
                   bits: np.ndarray | None = None) -> None:
        """values[i] onto coders[i], codec by codec for the whole batch; each codec's push_batch takes
        `bits` (None, or one float per coder to add its ideal code lengths to)."""
        if any(len(v) != len(self.codecs) for v in values):
            raise ValueError(f"expected {len(self.codecs)} values per coder")
        for k in reversed(range(len(self.codecs))):
            self.codecs[k].push_batch(coders, [v[k] for v in values], bits=bits)

    def pop_batch(self, coders: Sequence[AnsCoder]) -> list[list[Any]]:
        columns = [codec.pop_batch(coders) for codec in self.codecs]
        return [list(row) for row in zip(*columns)] if columns else [[] for _ in coders]


def to_bytes(coder: AnsCoder) -> bytes:
    """The coder's stack as little-endian bytes (a whole number of 32-bit words)."""
    return coder.get_compressed().astype("<u4").tobytes()


def from_bytes(data: bytes) -> AnsCoder:
    if len(data) % 4:
        raise ValueError("compressed stream length is not a multiple of 4 bytes")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return AnsCoder(words)
