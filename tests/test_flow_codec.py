"""The flow codec: latents under per-latent windows, escapes for unbounded tails, stack order of parts."""

import numpy as np
import pytest

from ardmzip.codecs import flow as flow_codec
from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.flow import WINDOW, FlowCodec
from ardmzip.models.exact_flow import ExactFlow
from exact_checks import flow_round_trip


class TwoParts(ExactFlow):
    """Latents = the array's two halves; part 1's window starts at part 0's values (a context dependency);
    batches array by array (ExactFlow's batch methods)."""

    def __init__(self, bounded=False):
        self.bounded = bounded

    def part_sizes(self, shape):
        n = int(np.prod(shape))
        return [n // 2, n - n // 2]

    def forward(self, x):
        flat = x.reshape(-1).astype(np.int64)
        return [flat[: len(flat) // 2], flat[len(flat) // 2:]]

    def prior(self, shape, k, parts):
        n = int(np.prod(shape))
        size = n // 2 if k == 0 else n - n // 2
        starts = np.full(size, -128, dtype=np.int64) if k == 0 else parts[0][:size] - 128
        peak = np.exp(-0.5 * ((np.arange(WINDOW) - 128) / 10.0) ** 2)

        def weights(rows):
            return np.tile(peak, (len(rows), 1))

        return starts, weights

    def inverse(self, shape, parts):
        return np.concatenate(parts).reshape(shape)


def round_trip(model, x):
    back, bits = flow_round_trip(model, x)
    return back, bits, FlowCodec(model, x.shape).ideal_bits(x)


def test_round_trip_and_ideal_bits_agree():
    x = np.random.default_rng(0).normal(0, 10, (2, 50)).round().astype(np.int64)
    x[1] += x[0]
    back, bits, ideal = round_trip(TwoParts(), x)
    assert np.array_equal(back, x)
    assert ideal <= bits <= ideal + 64


@pytest.mark.parametrize("far", [127, 128, 129, 1000, -129, -1000, 2 ** 40 - 2, -(2 ** 40)])
def test_latents_beyond_the_window_escape(far):
    x = np.zeros((2, 8), dtype=np.int64)
    x[0, 3] = far
    x[1, 5] = -far
    back, _, _ = round_trip(TwoParts(), x)
    assert np.array_equal(back, x)


def test_escapes_cost_more_than_the_window():
    near = np.zeros((2, 8), dtype=np.int64)
    far = near.copy()
    far[0, 0] = 10 ** 6
    assert round_trip(TwoParts(), far)[1] > round_trip(TwoParts(), near)[1]


def test_too_far_is_refused():
    x = np.zeros((2, 2), dtype=np.int64)
    x[0, 0] = 2 ** 45
    with pytest.raises(ValueError, match="too far"):
        FlowCodec(TwoParts(), x.shape).push(AnsCoder(), x)


def test_bounded_latents_have_no_tails():
    x = np.random.default_rng(1).integers(-128, 128, (2, 20))
    x[0, :4] = [-128, 127, -128, 127]  # the window's end classes are ordinary values here
    back, _, _ = round_trip(TwoParts(bounded=True), np.where(np.arange(2)[:, None] == 1, x[0] + x[1] % 100 - 50, x))
    assert back.shape == x.shape
    with pytest.raises(ValueError, match="bounded window"):
        FlowCodec(TwoParts(bounded=True), x.shape).push(AnsCoder(), np.full((2, 20), 500))


def test_chunked_tables_code_the_same(monkeypatch):
    x = np.random.default_rng(2).integers(-300, 300, (2, 37))
    whole = round_trip(TwoParts(), x)
    monkeypatch.setattr(flow_codec, "CHUNK", 5)
    chunked = round_trip(TwoParts(), x)
    assert np.array_equal(chunked[0], x) and chunked[1] == whole[1]


def test_progress_counts_latents_chunk_by_chunk(monkeypatch):
    """A flow's progress advances with the tables it codes, encoding and decoding, and ends at its latents."""
    monkeypatch.setattr(flow_codec, "CHUNK", 5)
    x = np.random.default_rng(3).integers(-50, 50, (2, 37))
    model = TwoParts()
    pushed, popped = [], []
    coder = AnsCoder()
    FlowCodec(model, x.shape, progress=pushed.append).push(coder, x)
    back = FlowCodec(model, x.shape, progress=popped.append).pop(coder)
    assert np.array_equal(back, x)
    assert FlowCodec(model, x.shape).steps == 74
    assert sum(pushed) == sum(popped) == 74 and len(pushed) == len(popped) == 16  # two parts of 37: 8 chunks each
