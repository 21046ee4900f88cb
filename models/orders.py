"""Generation orders: which dimension of an image plane an ARDM generates when, given by a family and a seed.

"random": a pseudo-random permutation per seed, the order of model files that name it or no family (and
the kind order-agnostic training draws: uniformly random orders). "dispersed": an ordered-dither order.
Pixels are ranked by their Bayer threshold, so every prefix of the order is spread evenly over the
image (each network call's pixels sit between those already known), and a plane's C channels follow
the same ranking shifted by N/C pixels each, so a pixel's channels come in different calls, each able
to see the others coded before it; the same network codes smaller in it than in random orders
(docs/how-it-works.md, Generation orders). A seed picks a variant: a symmetry of the dither square,
which channel leads, and for larger seeds a bit-flip of the coordinates, all still dispersed. Both are
integer computations, the same on every machine.
"""

from __future__ import annotations

import numpy as np

RANDOM = "random"
DISPERSED = "dispersed"
FAMILIES = (RANDOM, DISPERSED)
TRAINING_SEEDS = 1 << 16  # training in a family draws variants below this: every one a bits-back latent names
# (codecs.order_latent.VARIANTS, equal by test) and every one --search tries (MAX_SEARCH)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed integer hash, so the order never depends on a library's random number stream.

    uint64 arithmetic wraps modulo 2**64; in place, so a large image needs two arrays, not six."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        t = x >> np.uint64(30)
        x ^= t
        x *= np.uint64(0xBF58476D1CE4E5B9)
        np.right_shift(x, np.uint64(27), out=t)
        x ^= t
        x *= np.uint64(0x94D049BB133111EB)
        np.right_shift(x, np.uint64(31), out=t)
        x ^= t
        return x


def generation_order(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A pseudo-random permutation of the flat dimensions of `shape`, the same on every machine."""
    d = int(np.prod(shape))
    key = np.uint64(seed)
    for s in shape:
        key = _splitmix64(np.array([key ^ np.uint64(s)], dtype=np.uint64))[0]
    keys = np.arange(d, dtype=np.uint64)
    keys ^= key
    keys = _splitmix64(keys)
    return np.argsort(keys, kind="stable")


def _dither_rank(height: int, width: int, variant: int) -> np.ndarray:
    """Each pixel's rank (row-major flat index -> 0..H*W-1) by its Bayer threshold in the smallest
    power-of-two square holding the image: M_2n = [[4M, 4M+2], [4M+3, 4M+1]], so the finest
    coordinate bits weigh most and consecutive ranks alternate across the whole image."""
    bits = max(1, (max(height, width) - 1).bit_length())
    side = 1 << bits
    y, x = np.divmod(np.arange(height * width, dtype=np.int64), width)
    if variant & 4:
        y, x = x, y
    if variant & 1:
        y = side - 1 - y
    if variant & 2:
        x = side - 1 - x
    if variant >= 8:
        mask = int(_splitmix64(np.array([variant >> 3], dtype=np.uint64))[0])
        y, x = y ^ (mask & (side - 1)), x ^ ((mask >> 32) & (side - 1))
    value = np.zeros_like(y)
    for k in range(bits):  # coordinate bit k weighs 4**(bits - 1 - k)
        yb, xb = (y >> k) & 1, (x >> k) & 1
        value |= (2 * (xb ^ yb) + yb) << (2 * (bits - 1 - k))
    rank = np.empty_like(value)
    rank[np.argsort(value, kind="stable")] = np.arange(len(value))
    return rank


def dispersed_order(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """The flat dimensions of an (H, W, C) plane in dispersed order; seed = 8 * (C * flip + lead) + symmetry."""
    height, width, channels = shape
    n = height * width
    rank = _dither_rank(height, width, seed % 8 + 8 * (seed // (8 * channels)))
    lead = (seed // 8) % channels
    shifts = np.array([((c + lead) % channels) * n // channels for c in range(channels)], dtype=np.int64)
    keys = ((rank[:, None] + shifts[None, :]) % n) * channels + np.arange(channels)
    return np.argsort(keys.reshape(-1), kind="stable")


def family_order(family: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """The generation order of `family` for a plane of `shape`, variant `seed` (0: the family's own)."""
    if family == DISPERSED:
        return dispersed_order(tuple(shape), seed)
    return generation_order(tuple(shape), seed)


def check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown generation order family {family!r} (known: {', '.join(FAMILIES)})")
    return family
