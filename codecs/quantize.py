"""The one place where model probabilities become integer frequency tables for the coder.

Exact and portable: after one elementwise IEEE operation (the same on every machine), everything is
int64 arithmetic, so encoder and decoder derive identical tables from identical model outputs.
"""

from __future__ import annotations

import numpy as np

MIN_PRECISION = 8
MAX_PRECISION = 24  # constriction's categorical models work at 24 bits
DEFAULT_PRECISION = 24
_GRID = 1 << 30  # resolution of the weights before they are rescaled to the coder's grid


def quantize_probabilities(probs: np.ndarray, precision: int = DEFAULT_PRECISION) -> np.ndarray:
    """Rows of nonnegative weights (..., K) -> int64 frequencies, each >= 1, each row summing to 2**precision.

    Rows need not be normalized. Integer input (such as an ARDM's table weights, at most 2**30) is
    used as is; float input is first mapped to a 2**30 grid relative to its row maximum. A row that
    is all zero becomes uniform. The rounding remainder goes to the row's first most likely symbol.
    """
    if not MIN_PRECISION <= precision <= MAX_PRECISION:
        raise ValueError(f"precision must be in [{MIN_PRECISION}, {MAX_PRECISION}], got {precision}")
    p = np.asarray(probs)
    k = p.shape[-1]
    if k < 1 or k > (1 << precision):
        raise ValueError(f"cannot give {k} symbols at least one count each at precision {precision}")
    if np.issubdtype(p.dtype, np.integer):
        if p.size and (p.min() < 0 or p.max() > _GRID):
            raise ValueError("integer weights must lie in [0, 2**30]")
        w = p.astype(np.int64)
    else:
        p = p.astype(np.float64)
        if not np.all(np.isfinite(p)) or (p.size and p.min() < 0):
            raise ValueError("probabilities must be finite and nonnegative")
        top = p.max(axis=-1, keepdims=True)
        w = np.floor(p / np.where(top > 0, top, 1.0) * _GRID).astype(np.int64)
    total = w.sum(axis=-1, keepdims=True)
    w = np.where(total > 0, w, 1)
    total = np.where(total > 0, total, k)
    free = (1 << precision) - k
    freq = 1 + (w * free) // total
    remainder = (1 << precision) - freq.sum(axis=-1, keepdims=True)
    top_idx = np.argmax(freq, axis=-1)[..., None]
    np.put_along_axis(freq, top_idx, np.take_along_axis(freq, top_idx, axis=-1) + remainder, axis=-1)
    return freq


def ideal_bits(weights: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """-log2 of each symbol's share of its row of weights (..., rows, K), summed over the rows: the code
    length coding approaches before quantization. An integer weight of 0 counts as 1 (the coder gives
    every symbol a count), so a symbol the model rules out costs much, not infinitely much."""
    w = np.asarray(weights)
    w = (np.maximum(w, 1) if np.issubdtype(w.dtype, np.integer) else w).astype(np.float64)
    picked = np.take_along_axis(w, np.asarray(symbols, dtype=np.int64)[..., None], axis=-1)[..., 0]
    return -np.log2(picked / w.sum(axis=-1)).sum(axis=-1)
