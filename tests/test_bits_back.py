"""Bits-back coding on a toy latent-variable model whose ideal cost is known exactly."""

import numpy as np
import pytest

from ardmzip.codecs.ans import AnsCoder, CategoricalCodec
from ardmzip.codecs.bits_back import bits_back
from ardmzip.codecs.permutation import PermutationCodec, UniformCodec, permutation_bits
from ardmzip.codecs.quantize import quantize_probabilities

LATENTS, DIMS, ALPHABET, PRECISION = 8, 4, 16, 24


def toy_model(rng):
    """p(z) over 8 values; given z, 4 independent symbols over 16 values (z stays uncertain given x)."""
    prior = rng.dirichlet(np.ones(LATENTS))
    rows = rng.dirichlet(np.full(ALPHABET, 0.5), size=(LATENTS, DIMS))
    return prior, rows


def sample(prior, rows, n, rng):
    z = rng.choice(LATENTS, size=n, p=prior)
    return [np.array([rng.choice(ALPHABET, p=rows[k, d]) for d in range(DIMS)]) for k in z]


def quantized(p):
    return quantize_probabilities(p, PRECISION) / 2.0 ** PRECISION


def joint_log2(prior, rows, x):
    """log2 p(x, z) for every z, under the tables the coder actually uses."""
    return np.log2(quantized(prior)) + np.log2(quantized(rows)[:, np.arange(DIMS), x]).sum(axis=1)


def codec(prior, rows, posterior_of, used):
    def posterior(x):
        inner = CategoricalCodec(posterior_of(x)[None], PRECISION)

        class Recording:
            def pop(self, coder):
                z = inner.pop(coder)
                used.append(int(z[0]))
                return z

            push = staticmethod(inner.push)

        return Recording()

    return bits_back(CategoricalCodec(prior[None], PRECISION), lambda z: CategoricalCodec(rows[z[0]], PRECISION),
                     posterior)


def seeded_coder(rng, words):
    return AnsCoder(rng.integers(0, 1 << 32, words, dtype=np.uint32))


@pytest.mark.parametrize("exact_posterior", [True, False])
def test_net_bits_match_the_ideal_cost_and_all_bits_come_back(exact_posterior):
    rng = np.random.default_rng(0)
    prior, rows = toy_model(rng)
    xs = sample(prior, rows, 300, rng)

    def posterior_of(x):
        logp = joint_log2(prior, rows, x) * (1.0 if exact_posterior else 0.5)  # 0.5: a deliberately poor q
        q = 2.0 ** (logp - logp.max())
        return q / q.sum()

    used: list[int] = []
    bb = codec(prior, rows, posterior_of, used)
    coder = seeded_coder(rng, 64)
    seed = coder.get_compressed().copy()
    start = coder.num_valid_bits()
    for x in xs:
        bb.push(coder, x)
    net = coder.num_valid_bits() - start

    ideal = 0.0
    for x, z in zip(xs, used):
        q = quantized(posterior_of(x))[z]
        ideal += -joint_log2(prior, rows, x)[z] + np.log2(q)
    if exact_posterior:  # then -log p(x, z) + log q(z|x) = -log p(x) whatever z was popped
        marginal = sum(-np.logaddexp2.reduce(joint_log2(prior, rows, x)) for x in xs)
        assert abs(ideal - marginal) < 1e-3 * len(xs)
    entropy = sum(-np.sum(posterior_of(x) * np.log2(posterior_of(x))) for x in xs)
    print(f"net {net} bits, ideal {ideal:.1f} bits, posterior entropy {entropy:.1f} bits over {len(xs)} items")
    assert entropy > 0.5 * len(xs)  # the latent is uncertain, so bits-back matters
    assert abs(net - ideal) < 32 + 1e-3 * ideal

    decoded = [bb.pop(coder) for _ in xs][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(decoded, xs))
    assert np.array_equal(coder.get_compressed(), seed)  # every borrowed bit given back


def test_permutation_costs_log2_factorial_and_pushing_it_back_restores_the_stack():
    rng = np.random.default_rng(2)
    coder = seeded_coder(rng, 2000)
    before, seed = coder.num_valid_bits(), coder.get_compressed().copy()
    perms = [PermutationCodec(n).pop(coder) for n in (1, 2, 7, 3072)]
    assert [sorted(p.tolist()) for p in perms] == [list(range(n)) for n in (1, 2, 7, 3072)]
    taken = before - coder.num_valid_bits()
    assert abs(taken - sum(permutation_bits(n) for n in (1, 2, 7, 3072))) < 2
    for n, p in reversed(list(zip((1, 2, 7, 3072), perms))):
        PermutationCodec(n).push(coder, p)
    assert np.array_equal(coder.get_compressed(), seed)


def test_permutations_round_trip_and_are_uniform():
    rng = np.random.default_rng(3)
    p = rng.permutation(50)
    coder = AnsCoder()
    PermutationCodec(50).push(coder, p)
    assert np.array_equal(PermutationCodec(50).pop(coder), p) and coder.is_empty()
    coder = seeded_coder(rng, 3000)
    counts = np.zeros((3, 3))
    for _ in range(3000):
        q = PermutationCodec(3).pop(coder)
        counts[np.arange(3), q] += 1
    assert np.all(np.abs(counts / 1000 - 1) < 0.12)  # each element equally often at each place
    with pytest.raises(ValueError):
        PermutationCodec(3).push(AnsCoder(), np.array([0, 0, 1]))
    with pytest.raises(ValueError):
        UniformCodec(np.array([1])).pop(AnsCoder())
