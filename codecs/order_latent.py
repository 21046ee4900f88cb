"""An autoregressive model's generation order as a bits-back latent (MODELS.md 5.3).

One order (`orders=1`): a uniformly random permutation is popped from the stack, the array pushed
under that order, and the order pushed back under the same uniform prior, so the net cost is
-log2 p(x|order): in expectation no better than a fixed order, since prior and posterior are both
uniform. Several orders (`orders=K`, importance weighting): K orders are popped, one of them, k, is
popped with probability proportional to p(x|order_k), the array is pushed under order_k, and the
prior side pushes k uniformly and all K orders uniformly. The uniform terms cancel and the net cost
is -log2 mean_k p(x|order_k) plus the quantization of the choice, which by Jensen's inequality is
never more than one random order's cost in expectation. Decoding pops the choice and the orders, the
array, and pushes the choice back under the same weights, which it recomputes from the decoded array.

What an order is depends on the model's order family (``model.order_family``, coding_model.py). A
model of RANDOM orders takes uniformly random permutations (log2(D!) bits each, and D must stay
within the uniform coder's range). Any other family is coded in its own variants, which beat random
permutations for it: the latent is a variant number uniform over VARIANTS (16 bits each), the order
``model.order(shape, variant)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .ans import AnsCoder, CategoricalCodec
from .autoregressive import AutoregressiveCodec
from .bits_back import bits_back
from .coding_model import RANDOM, SteppedModel
from .permutation import MAX_UNIFORM, PermutationCodec, UniformCodec, permutation_bits
from .quantize import DEFAULT_PRECISION

WEIGHT_BITS = 30  # the choice's weights are integers up to 2**30, the quantizer's integer range
VARIANTS = 1 << 16  # a variant order's latent: its number, uniform below this


@dataclass(frozen=True)
class _Permutations:
    """Orders as uniformly random permutations of the dimensions (a model of random orders)."""

    dims: int

    @property
    def bits(self) -> float:
        return permutation_bits(self.dims)

    def push(self, coder: AnsCoder, z: np.ndarray) -> None:
        PermutationCodec(self.dims).push(coder, z)

    def pop(self, coder: AnsCoder) -> np.ndarray:
        return PermutationCodec(self.dims).pop(coder)

    def order(self, z: np.ndarray) -> np.ndarray:
        return z


@dataclass(frozen=True)
class _Variants:
    """Orders as variant numbers of the model's own family."""

    model: SteppedModel
    shape: tuple[int, ...]
    bits = math.log2(VARIANTS)

    def push(self, coder: AnsCoder, z: int) -> None:
        UniformCodec(np.array([VARIANTS])).push(coder, np.array([z]))

    def pop(self, coder: AnsCoder) -> int:
        return int(UniformCodec(np.array([VARIANTS])).pop(coder)[0])

    def order(self, z: int) -> np.ndarray:
        return self.model.order(self.shape, z)


@dataclass(frozen=True)
class Orders:
    """The latent: K generation orders (permutations, or variant numbers) and the one the array is coded under."""

    chosen: int
    orders: tuple


def likelihood_weight(frequencies: np.ndarray) -> tuple[int, int]:
    """(m, e) with m * 2**e the product of the counts, m kept to 64 bits by truncation.

    Integer arithmetic only, so encoder and decoder weigh orders identically on any machine; the
    relative error, at most len(frequencies) * 2**-63, is far below the choice's quantization."""
    m, e = 1, 0
    for f in frequencies.tolist():
        m *= f
        extra = m.bit_length() - 64
        if extra > 0:
            m >>= extra
            e += extra
    return m, e


def choice_weights(weights: Sequence[tuple[int, int]]) -> np.ndarray:
    """Integer weights in [0, 2**30] proportional to the m * 2**e of each order (the largest >= 2**29)."""
    top = max(m.bit_length() + e for m, e in weights)
    out = []
    for m, e in weights:
        shift = top - WEIGHT_BITS - e
        out.append(m >> shift if shift >= 0 else m << -shift)
    return np.array(out, dtype=np.int64)


@dataclass
class OrderLatentCodec:
    """One array (an image plane) coded bits-back with its generation order as the latent."""

    model: SteppedModel
    shape: tuple[int, ...]
    budget: int
    orders: int = 1
    precision: int = DEFAULT_PRECISION

    def __post_init__(self):
        if not 1 <= self.orders <= MAX_UNIFORM:
            raise ValueError(f"orders must lie in [1, {MAX_UNIFORM}], got {self.orders}")

    @property
    def dims(self) -> int:
        """Length of an order: the array's dimensions (a digit model generates every stage in it)."""
        return math.prod(self.shape)

    @staticmethod
    def supports(dims: int) -> bool:
        """constriction's uniform sizes end below 2**24, and the Fisher-Yates draw needs sizes up to dims."""
        return dims <= MAX_UNIFORM

    @property
    def latent(self) -> _Permutations | _Variants:
        if self.model.order_family == RANDOM:
            return _Permutations(self.dims)
        return _Variants(self.model, tuple(self.shape))

    @property
    def possible(self) -> bool:
        """Whether the order can be coded as a latent: permutations only within the uniform coder's range."""
        return isinstance(self.latent, _Variants) or self.supports(self.dims)

    @property
    def bits_needed(self) -> float:
        """Bits the encoder pops before it pushes anything: a stack holding fewer gets them only in part back."""
        return self.orders * self.latent.bits + (self.precision if self.orders > 1 else 0)

    @property
    def calls(self) -> int:
        """Network calls per array: with K > 1 orders each is weighed by a pass first, then one is coded."""
        return self._plane(None).calls * (self.orders + 1 if self.orders > 1 else 1)

    def _plane(self, order: np.ndarray | None) -> AutoregressiveCodec:
        return AutoregressiveCodec(self.model, self.shape, self.budget, self.precision, order=order)

    def choice(self, x: np.ndarray, orders: Sequence) -> CategoricalCodec:
        latent = self.latent
        weights = [likelihood_weight(self._plane(latent.order(o)).symbol_frequencies(x)) for o in orders]
        return CategoricalCodec(choice_weights(weights)[None], self.precision)

    def _codec(self):
        latent = self.latent
        return bits_back(_OrderPrior(latent, self.orders), lambda z: self._plane(latent.order(z.orders[z.chosen])),
                         lambda x: _OrderPosterior(self, latent, x))

    def push(self, coder: AnsCoder, x: np.ndarray) -> None:
        if not self.possible:
            raise ValueError(f"an order over {self.dims} dimensions is beyond the uniform coder's range")
        self._codec().push(coder, x)

    def pop(self, coder: AnsCoder) -> np.ndarray:
        return self._codec().pop(coder)

    @property
    def dims_coded(self) -> int:
        """Symbols coded per array (more than dims for a model that codes digits)."""
        return math.prod(self.model.symbol_shape(self.shape))

    def ideal_bits(self, x: np.ndarray, orders: Sequence[np.ndarray]) -> float:
        """-log2 mean_k p(x|orders_k) under the coder's quantized tables: the net cost for these orders
        (less the choice's quantization)."""
        logp = [np.log2(self._plane(o).symbol_frequencies(x).astype(np.float64)).sum()
                - self.precision * self.dims_coded for o in orders]
        return float(-(np.logaddexp2.reduce(logp) - math.log2(len(orders))))


@dataclass
class _OrderPrior:
    """p(orders, chosen): every order uniform, the choice uniform over the K."""

    latent: _Permutations | _Variants
    count: int

    def push(self, coder: AnsCoder, z: Orders) -> None:
        for order in reversed(z.orders):
            self.latent.push(coder, order)
        if self.count > 1:
            UniformCodec(np.array([self.count])).push(coder, np.array([z.chosen]))

    def pop(self, coder: AnsCoder) -> Orders:
        chosen = int(UniformCodec(np.array([self.count])).pop(coder)[0]) if self.count > 1 else 0
        return Orders(chosen, tuple(self.latent.pop(coder) for _ in range(self.count)))


@dataclass
class _OrderPosterior:
    """q(orders, chosen | x): every order uniform, the choice proportional to p(x|order)."""

    codec: OrderLatentCodec
    latent: _Permutations | _Variants
    x: np.ndarray

    def push(self, coder: AnsCoder, z: Orders) -> None:
        if self.codec.orders > 1:
            self.codec.choice(self.x, z.orders).push(coder, np.array([z.chosen]))
        for order in reversed(z.orders):
            self.latent.push(coder, order)

    def pop(self, coder: AnsCoder) -> Orders:
        orders = tuple(self.latent.pop(coder) for _ in range(self.codec.orders))
        chosen = int(self.codec.choice(self.x, orders).pop(coder)[0]) if self.codec.orders > 1 else 0
        return Orders(chosen, orders)
