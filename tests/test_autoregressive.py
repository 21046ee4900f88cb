"""The grouped autoregressive codec against a toy model whose probabilities are known exactly."""

import numpy as np
import pytest

from ardmzip.codecs.ans import AnsCoder, from_bytes, to_bytes
from ardmzip.codecs import autoregressive
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.quantize import quantize_probabilities


class ToyModel:
    """Predicts each dimension from how many known neighbours equal each value (context-dependent)."""

    alphabet_size = 4

    def __init__(self):
        self.calls = []

    def symbol_shape(self, shape):
        return shape

    def to_symbols(self, x):
        return x

    def from_symbols(self, symbols):
        return symbols

    def schedule(self, shape, budget):
        order = np.random.default_rng(0).permutation(int(np.prod(shape)))
        return np.array_split(order, min(budget, len(order)))

    def condition(self, x, known):
        asked = []
        self.calls.append((known.copy(), asked))
        counts = np.bincount(x[known].ravel(), minlength=4).astype(np.float64) if known.any() else np.zeros(4)

        def weights(idx):
            asked.append(np.array(idx))
            return np.tile(counts + 1.0, (len(idx), 1))

        return weights

    def condition_batch(self, xs, known):
        """The protocol's batch call for a model without one: a call per array."""
        calls = [self.condition(x, known) for x in xs]
        return lambda idx: np.stack([weights(idx) for weights in calls])


@pytest.mark.parametrize("chunk", [1 << 14, 5])
@pytest.mark.parametrize("shape,budget", [((5, 7, 3), 4), ((1, 1, 1), 3), ((6, 6, 1), 36), ((4, 4, 3), 1)])
def test_round_trip_and_same_model_inputs(shape, budget, chunk, monkeypatch):
    monkeypatch.setattr(autoregressive, "CHUNK", chunk)
    rng = np.random.default_rng(1)
    x = rng.choice(4, size=shape, p=[0.7, 0.1, 0.1, 0.1])
    enc_model, dec_model = ToyModel(), ToyModel()
    coder = AnsCoder()
    AutoregressiveCodec(enc_model, shape, budget).push(coder, x)
    y = AutoregressiveCodec(dec_model, shape, budget).pop(from_bytes(to_bytes(coder)))
    assert (y == x).all()
    # the encoder asked the model exactly what the decoder asked, group for group, until the decoder's
    # coder was empty: every symbol left is then 0 (an empty coder pops nothing else), with no call
    enc_calls = list(reversed(enc_model.calls))
    assert len(enc_calls) == min(budget, x.size) and len(dec_model.calls) <= len(enc_calls)
    for (ke, ie), (kd, id_) in zip(enc_calls, dec_model.calls):
        assert (ke == kd).all()
        assert sorted(np.concatenate(ie).tolist()) == sorted(np.concatenate(id_).tolist())
    for _, skipped in enc_calls[len(dec_model.calls):]:
        assert (x.flat[np.concatenate(skipped)] == 0).all()


def test_cost_matches_the_model():
    shape, budget = (16, 16, 3), 8
    rng = np.random.default_rng(2)
    x = rng.choice(4, size=shape, p=[0.85, 0.05, 0.05, 0.05])
    model = ToyModel()
    coder = AnsCoder()
    AutoregressiveCodec(model, shape, budget).push(coder, x)
    ideal = 0.0
    for known, asked in model.calls:
        idx = np.concatenate(asked)
        p = quantize_probabilities(ToyModel().condition(np.where(known, x, 0), known)(idx), 24) / 2 ** 24
        ideal -= np.log2(p[np.arange(len(idx)), x.flat[idx]]).sum()
    assert ideal <= coder.num_bits() <= ideal + 64


def test_shape_mismatch_refused():
    with pytest.raises(ValueError):
        AutoregressiveCodec(ToyModel(), (2, 2, 1), 2).push(AnsCoder(), np.zeros((2, 3, 1), dtype=np.int64))


def test_ideal_bits_is_what_the_coder_approaches():
    shape, budget = (12, 12, 3), 6
    x = np.random.default_rng(4).choice(4, size=shape, p=[0.8, 0.1, 0.05, 0.05])
    codec = AutoregressiveCodec(ToyModel(), shape, budget)
    coder = AnsCoder()
    codec.push(coder, x)
    ideal = codec.ideal_bits(x)
    assert ideal < coder.num_bits() < ideal * 1.01 + 64
