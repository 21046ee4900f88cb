import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ardmzip.codecs.quantize import ideal_bits, quantize_probabilities


def check_table(freq: np.ndarray, precision: int) -> None:
    assert freq.dtype == np.int64
    assert (freq >= 1).all()
    assert (freq.sum(axis=-1) == 1 << precision).all()


@pytest.mark.parametrize("precision", [8, 12, 16, 20, 24])
def test_random_rows(precision):
    rng = np.random.default_rng(precision)
    p = rng.dirichlet(np.ones(256) * 0.3, size=500)
    f = quantize_probabilities(p, precision)
    check_table(f, precision)
    # close to the input where the grid allows it
    assert np.abs(f / (1 << precision) - p).max() < 300 / (1 << precision)


def test_one_symbol_holds_nearly_all_mass():
    p = np.full((4, 256), 1e-300)
    p[np.arange(4), [0, 7, 128, 255]] = 1.0
    f = quantize_probabilities(p, 24)
    check_table(f, 24)
    assert (f.max(axis=1) == (1 << 24) - 255).all()
    assert f.argmax(axis=1).tolist() == [0, 7, 128, 255]


def test_many_near_zero_and_zero_rows_become_valid():
    p = np.zeros((3, 256))
    p[0, :] = 1e-30
    p[1, 3] = 5.0  # unnormalized
    f = quantize_probabilities(p, 16)
    check_table(f, 16)
    assert (f[2] == 256).all()  # an all-zero row becomes uniform
    assert f[1, 3] == (1 << 16) - 255


def test_integer_weights_are_used_exactly():
    w = np.array([[1 << 30, 1 << 29, 0, 1]])
    f = quantize_probabilities(w, 8)
    check_table(f, 8)
    assert f[0, 0] > f[0, 1] > f[0, 2]


def test_float_and_integer_paths_agree_on_grid_values():
    w = np.random.default_rng(0).integers(0, 1 << 30, size=(50, 256))
    w[:, 0] = 1 << 30  # row maximum equal to the grid
    assert (quantize_probabilities(w, 20) == quantize_probabilities(w.astype(np.float64), 20)).all()


@pytest.mark.parametrize("bad", [np.array([[0.5, -0.1]]), np.array([[np.nan, 1.0]]), np.array([[np.inf, 1.0]])])
def test_invalid_probabilities_rejected(bad):
    with pytest.raises(ValueError):
        quantize_probabilities(bad, 16)


def test_invalid_precision_rejected():
    with pytest.raises(ValueError):
        quantize_probabilities(np.ones((1, 4)), 30)
    with pytest.raises(ValueError):
        quantize_probabilities(np.ones((1, 512)), 8)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 300)),
              elements=st.floats(0, 1e6, allow_nan=False, allow_subnormal=True)),
       st.integers(9, 24))
def test_property_always_a_valid_table(p, precision):
    check_table(quantize_probabilities(p, precision), precision)


def test_ideal_bits_sums_each_rows_share_and_floors_integer_zeros():
    w = np.array([[[1, 1, 2], [0, 3, 1]], [[4, 0, 0], [1, 1, 0]]])  # (batch 2, rows 2, K 3)
    s = np.array([[2, 0], [0, 1]])
    expected = [-np.log2(2 / 4) - np.log2(1 / 5), -np.log2(4 / 6) - np.log2(1 / 3)]
    assert ideal_bits(w, s).tolist() == pytest.approx(expected)
    assert ideal_bits(w[0].astype(float) + 0.5, s[0]) == pytest.approx(-np.log2(2.5 / 5.5) - np.log2(0.5 / 5.5))
