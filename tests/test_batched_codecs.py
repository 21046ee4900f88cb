"""Batched coding: several arrays of one shape through each model call, each onto its own coder, every
coder's bytes those of coding its array alone, and popped back exactly."""

import numpy as np
import pytest

from ardmzip.codecs import autoregressive, flow
from ardmzip.codecs.ans import AnsCoder, from_bytes, to_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.flow import FlowCodec
from ardmzip.models.ardm import OrderAgnosticARDM
from ardmzip.models.upscale import UpscaleARDM
from test_ardm import STEP_LOSS
from test_flow_codec import TwoParts
from tiny_flows import tiny_df, tiny_idf
from tiny_model import tiny_integer_net


def alone(codec, x) -> bytes:
    coder = AnsCoder()
    codec.push(coder, x)
    return to_bytes(coder)


def check_batch(codec, xs):
    """Batched bytes equal each array's own; a batched pop gives every array back; the ideal code lengths
    the encoder adds up as it goes are those of a separate pass."""
    coders = [AnsCoder() for _ in xs]
    bits = np.zeros(len(xs))
    codec.push_batch(coders, xs, bits)
    data = [to_bytes(c) for c in coders]
    assert data == [alone(codec, x) for x in xs]
    assert bits.tolist() == pytest.approx([codec.ideal_bits(x) for x in xs], rel=1e-12) and (bits > 0).any()
    back = codec.pop_batch([from_bytes(d) for d in data])
    assert all(np.array_equal(b, x) for b, x in zip(back, xs))
    return data


def images(shape, n, seed=0):
    """Smooth-ish random images (so the models' tables differ from row to row) and one constant image."""
    rng = np.random.default_rng(seed)
    out = [np.clip(rng.normal(128, 40, shape).cumsum(axis=1) // shape[1], 0, 255).astype(np.int64)
           for _ in range(n - 1)]
    return out + [np.full(shape, 7, dtype=np.int64)]


ARDMS = {
    "oa-even": lambda: OrderAgnosticARDM(tiny_integer_net(0)),
    "oa-planned-mixture": lambda: OrderAgnosticARDM(tiny_integer_net(1, "logistic-mixture"), STEP_LOSS),
    "oa-small-tiles": lambda: OrderAgnosticARDM(tiny_integer_net(2), tile=4),
    "upscale-4": lambda: UpscaleARDM(tiny_integer_net(3, "categorical", 4), 4),
    "upscale-16-planned": lambda: UpscaleARDM(tiny_integer_net(4, "logistic-mixture", 16), 16, STEP_LOSS,
                                                share_by_loss=True),
}


@pytest.mark.parametrize("name,shape,budget", [
    ("oa-even", (7, 5, 3), 5), ("oa-even", (4, 9, 1), 12), ("oa-even", (1, 1, 3), 4),
    ("oa-planned-mixture", (7, 5, 3), 5), ("oa-small-tiles", (6, 5, 3), 3),
    ("upscale-4", (4, 9, 1), 8), ("upscale-16-planned", (7, 5, 3), 6)])
def test_ardm_batches_code_each_image_as_alone(name, shape, budget):
    check_batch(AutoregressiveCodec(ARDMS[name](), shape, budget), images(shape, 3))


def test_batch_of_one_and_repeated_images():
    codec = AutoregressiveCodec(ARDMS["oa-even"](), (6, 6, 3), 5)
    x = images((6, 6, 3), 2)[0]
    assert check_batch(codec, [x]) == [alone(codec, x)]
    data = check_batch(codec, [x, x, x])
    assert data[0] == data[1] == data[2]


def test_tables_chunked_across_the_batch_code_the_same(monkeypatch):
    """Batches split a call's rows into smaller runs (CHUNK over the batch): no byte changes."""
    codec = AutoregressiveCodec(ARDMS["oa-even"](), (5, 7, 3), 3)
    xs = images((5, 7, 3), 3, seed=1)
    whole = [alone(codec, x) for x in xs]
    monkeypatch.setattr(autoregressive, "CHUNK", 7)
    assert check_batch(codec, xs) == whole


def test_model_whose_batch_call_loops_over_arrays():
    from test_autoregressive import ToyModel

    model = ToyModel()
    codec = AutoregressiveCodec(model, (5, 7, 3), 4)
    xs = [np.random.default_rng(s).choice(4, size=(5, 7, 3), p=[0.7, 0.1, 0.1, 0.1]) for s in range(3)]
    check_batch(codec, xs)


def test_batch_calls_the_model_once_per_group():
    model = ARDMS["oa-even"]()
    calls = []
    codec = AutoregressiveCodec(model, (6, 5, 3), 7, progress=calls.append)
    codec.push_batch([AnsCoder() for _ in range(5)], images((6, 5, 3), 5))
    assert len(calls) == codec.calls == 7


def test_mismatched_batches_are_refused():
    codec = AutoregressiveCodec(ARDMS["oa-even"](), (4, 4, 3), 3)
    with pytest.raises(ValueError, match="does not match"):
        codec.push_batch([AnsCoder(), AnsCoder()], [np.zeros((4, 4, 3), int), np.zeros((4, 5, 3), int)])
    with pytest.raises(ValueError, match="coders"):
        codec.push_batch([AnsCoder()], [np.zeros((4, 4, 3), int)] * 2)


FLOWS = {"idf": lambda: tiny_idf(3), "idf-3-levels": lambda: tiny_idf(5, levels=3), "df": lambda: tiny_df(4)}


@pytest.mark.parametrize("name", FLOWS)
@pytest.mark.parametrize("shape", [(8, 8, 3), (7, 13, 3), (5, 6, 1)])
def test_flow_batches_code_each_image_as_alone(name, shape):
    check_batch(FlowCodec(FLOWS[name](), shape), images(shape, 3, seed=2))


def test_flow_batches_with_escapes_and_small_chunks(monkeypatch):
    """An unbounded toy flow whose latents leave their windows: escapes per image, runs across the batch."""
    xs = [np.random.default_rng(s).integers(-400, 400, (2, 37)) for s in range(3)]
    xs[1][0, 3] = 10 ** 6
    codec = FlowCodec(TwoParts(), (2, 37))
    whole = [alone(codec, x) for x in xs]
    monkeypatch.setattr(flow, "CHUNK", 5)
    assert check_batch(codec, xs) == whole


def test_serial_batches_code_each_tuple_as_alone():
    from ardmzip.codecs.ans import Serial

    model = ARDMS["oa-even"]()
    serial = Serial([AutoregressiveCodec(model, (4, 5, 3), 3), AutoregressiveCodec(model, (4, 5, 1), 2)])
    values = [[images((4, 5, 3), 2, seed=s)[0], images((4, 5, 1), 2, seed=s)[0]] for s in range(3)]
    coders = [AnsCoder() for _ in values]
    bits = np.zeros(len(values))
    serial.push_batch(coders, values, bits)
    assert bits.tolist() == pytest.approx([sum(c.ideal_bits(x) for c, x in zip(serial.codecs, v)) for v in values])
    lone = []
    for v in values:
        coder = AnsCoder()
        serial.push(coder, v)
        lone.append(to_bytes(coder))
    assert [to_bytes(c) for c in coders] == lone
    back = serial.pop_batch([from_bytes(d) for d in lone])
    assert all(np.array_equal(b, x) for row, v in zip(back, values) for b, x in zip(row, v))
