import numpy as np
import pytest

from ardmzip.codecs.ans import AnsCoder, CategoricalCodec, Serial, from_bytes, to_bytes
from ardmzip.codecs.quantize import quantize_probabilities


def sample(p: np.ndarray, rng) -> np.ndarray:
    c = p.cumsum(axis=1)
    u = rng.random((len(p), 1)) * c[:, -1:]
    return (u > c).sum(axis=1)


def softmax_rows(n, k, scale, rng):
    z = rng.normal(size=(n, k)) * scale
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("precision", [12, 16, 24])
def test_round_trip_through_bytes(precision):
    rng = np.random.default_rng(1)
    p = softmax_rows(3000, 256, 2.0, rng)
    x = sample(p, rng)
    codec = CategoricalCodec(p, precision)
    coder = AnsCoder()
    codec.push(coder, x)
    assert (codec.pop(from_bytes(to_bytes(coder))) == x).all()


def test_adversarial_symbols_still_round_trip():
    """Symbols the model gives (almost) no mass cost many bits but must still decode."""
    p = np.full((100, 256), 1e-12)
    p[:, 0] = 1.0
    x = np.arange(100) % 256 + 1
    coder = AnsCoder()
    CategoricalCodec(p, 24).push(coder, x)
    assert (CategoricalCodec(p, 24).pop(from_bytes(to_bytes(coder))) == x).all()


def test_overhead_over_ideal_is_well_under_one_percent():
    rng = np.random.default_rng(2)
    p = softmax_rows(20000, 256, 3.0, rng)
    x = sample(p, rng)
    coder = AnsCoder()
    CategoricalCodec(p, 24).push(coder, x)
    written = 8 * len(to_bytes(coder))
    ideal = -np.log2(p[np.arange(len(x)), x]).sum()
    quantized_ideal = -np.log2(quantize_probabilities(p, 24)[np.arange(len(x)), x] / 2 ** 24).sum()
    overhead = written / ideal - 1
    print(f"written {written} bits, ideal {ideal:.0f}, quantized ideal {quantized_ideal:.0f}, "
          f"overhead {100 * overhead:.3f}%")
    assert 0 <= overhead < 0.002


def test_serial_pops_in_order():
    rng = np.random.default_rng(3)
    pa, pb = softmax_rows(10, 5, 1.0, rng), softmax_rows(7, 300, 1.0, rng)
    xa, xb = sample(pa, rng), sample(pb, rng)
    codec = Serial([CategoricalCodec(pa), CategoricalCodec(pb)])
    coder = AnsCoder()
    codec.push(coder, [xa, xb])
    ya, yb = codec.pop(from_bytes(to_bytes(coder)))
    assert (ya == xa).all() and (yb == xb).all()
    with pytest.raises(ValueError):
        codec.push(coder, [xa])


def test_stream_must_be_whole_words():
    with pytest.raises(ValueError):
        from_bytes(b"abc")
