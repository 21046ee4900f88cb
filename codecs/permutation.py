"""Uniform integers and uniformly random permutations coded on the rANS stack.

A permutation of n elements is n - 1 uniform indices of sizes n, n-1, ..., 2 (Fisher-Yates), so
popping one from a stack of compressed bits draws a uniformly random order and costs log2(n!) bits,
which pushing it back returns. constriction's Uniform model takes a size per symbol (2 <= size <
2**24); a quantized table would need n rows of n counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import constriction
import numpy as np

from .ans import AnsCoder

MAX_UNIFORM = (1 << 24) - 1  # constriction's Uniform needs size < 2**24
_UNIFORM = constriction.stream.model.Uniform()


@dataclass
class UniformCodec:
    """A batch of integers, value i uniform over [0, sizes[i]); every size in [2, MAX_UNIFORM]."""

    sizes: np.ndarray

    def push(self, coder: AnsCoder, values: np.ndarray) -> None:
        if len(values):
            coder.encode_reverse(np.ascontiguousarray(values, dtype=np.int32), _UNIFORM, self._sizes())

    def pop(self, coder: AnsCoder) -> np.ndarray:
        if not len(self.sizes):
            return np.zeros(0, dtype=np.int32)
        return np.asarray(coder.decode(_UNIFORM, self._sizes()), dtype=np.int32)

    def _sizes(self) -> np.ndarray:
        sizes = np.ascontiguousarray(self.sizes, dtype=np.int32)
        if len(sizes) and (sizes.min() < 2 or sizes.max() > MAX_UNIFORM):
            raise ValueError(f"uniform sizes must lie in [2, {MAX_UNIFORM}]")
        return sizes


def permutation_bits(n: int) -> float:
    """log2(n!): what one uniform permutation of n elements takes from (and gives back to) the stack."""
    return math.lgamma(n + 1) / math.log(2)


@dataclass
class PermutationCodec:
    """A permutation of range(n), uniform: its Fisher-Yates swap indices, j_i uniform in [0, i]."""

    n: int

    def _indices(self) -> UniformCodec:
        return UniformCodec(np.arange(self.n, 1, -1, dtype=np.int32))

    def pop(self, coder: AnsCoder) -> np.ndarray:
        perm = list(range(self.n))
        for i, j in zip(range(self.n - 1, 0, -1), self._indices().pop(coder).tolist()):
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def push(self, coder: AnsCoder, perm: np.ndarray) -> None:
        perm = np.asarray(perm)
        if perm.shape != (self.n,) or not np.array_equal(np.sort(perm), np.arange(self.n)):
            raise ValueError(f"not a permutation of {self.n} elements")
        cur, pos = list(range(self.n)), list(range(self.n))  # the shuffle so far and its inverse
        swaps = []
        for i, target in zip(range(self.n - 1, 0, -1), perm[::-1].tolist()):
            j = pos[target]
            swaps.append(j)
            cur[i], cur[j] = cur[j], cur[i]
            pos[cur[i]], pos[cur[j]] = i, j
        self._indices().push(coder, np.array(swaps, dtype=np.int32))
