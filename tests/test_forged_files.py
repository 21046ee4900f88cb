"""Forged files an outside fuzz found (issue 35 item 8): a palette no image has, and headers that claim a
huge image over an empty payload, refused before the decoding work or without a network call."""

import dataclasses
import io

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ardmzip import api, model_file
from ardmzip import header as fmt
from ardmzip.batches import decompress_many
from ardmzip.cli import main
from ardmzip.codecs.ans import AnsCoder, to_bytes, from_bytes
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.errors import CorruptFileError


class NoCalls:
    """A coding model that raises if the network is called: what needs no call must not make one."""

    def __init__(self, model):
        self.model = model

    def __getattr__(self, name):
        return getattr(self.model, name)

    def condition(self, x, known):
        raise AssertionError("network called")

    def condition_batch(self, xs, known):
        raise AssertionError("network called")


class CountCalls(NoCalls):
    calls = 0

    def condition_batch(self, xs, known):
        self.calls += 1
        return self.model.condition_batch(xs, known)


@pytest.fixture
def forbid_calls(tiny_registry, monkeypatch):
    """From its call on, every model the decoder loads raises if the network is called."""
    load = model_file.load
    return lambda: monkeypatch.setattr(model_file, "load", lambda entry: NoCalls(load(entry)))


def forged(data: bytes, payload: bytes | None = None, **fields) -> bytes:
    """The file with header fields rewritten and both CRCs valid, as a forger makes it."""
    head, old = fmt.unpack(data)
    return fmt.pack(dataclasses.replace(head, **fields), old if payload is None else payload)


def test_a_huge_image_over_an_empty_payload_is_refused_without_a_network_call(forbid_calls):
    data = api.compress(np.full((4, 5, 3), 9, np.uint8), budget=2)
    bad = forged(data, b"", width=1500, height=1000)  # 1.5 MP, 3 dims each, claimed by a 26-byte file
    assert len(bad) < 30
    forbid_calls()
    with pytest.raises(CorruptFileError, match="checksum"):
        api.decompress(bad, max_calls=None)


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_a_black_image_has_an_empty_payload_and_decodes_without_a_network_call(forbid_calls, mode):
    """Why no payload is too short for its claimed size: symbol 0 onto an empty rANS coder leaves it empty."""
    black = Image.new(mode, (30, 20))
    data = api.compress(black, budget=3)
    assert fmt.unpack(data)[1] == b""
    forbid_calls()
    back = api.decompress(data)
    assert back.mode == mode and np.array_equal(np.asarray(back), np.asarray(black))


def test_decoding_stops_calling_once_the_coder_is_empty_with_the_same_symbols(tiny_registry):
    net = model_file.load(tiny_registry.get())
    codec = AutoregressiveCodec(net, (6, 7, 3), budget=5)
    x = np.zeros((6, 7, 3), np.int64)
    first = codec._schedule()[0]
    x.flat[first] = np.arange(len(first)) * 37 % 256 + 1  # only the first call's dimensions are not 0
    coder = AnsCoder()
    codec.push(coder, x)
    ticks = []
    counting = CountCalls(net)
    decoder = AutoregressiveCodec(counting, (6, 7, 3), budget=5, progress=ticks.append)
    back = decoder.pop(from_bytes(to_bytes(coder)))
    assert np.array_equal(back, x)
    assert counting.calls == 1 and sum(ticks) == decoder.calls == 5  # the progress still reaches its total


def test_a_batch_skips_calls_only_once_every_coder_is_empty(tiny_registry):
    black, photo = np.zeros((8, 8, 3), np.uint8), np.random.default_rng(1).integers(0, 256, (8, 8, 3), np.uint8)
    files = [api.compress(im, budget=4) for im in (black, photo)]
    images = decompress_many(files, batch=2)
    assert np.array_equal(np.asarray(images[0]), black) and np.array_equal(np.asarray(images[1]), photo)


def _p_file(tiny_registry) -> bytes:
    im = Image.new("P", (6, 5))
    im.putpalette(bytes(range(30)))
    im.putpixel((1, 1), 4)
    return api.compress(im, budget=2)


@pytest.mark.parametrize("palette", [
    b"\x00\xfc\x03" + bytes(340 * 3) + b"\x00",  # 340 RGB entries
    b"\x01\x00\x08" + bytes(512 * 4) + b"\x00",  # 512 RGBA entries
    b"\x00\x1e\x00" + bytes(range(30)) + b"\x03",  # transparency kind 3
], ids=["340 RGB entries", "512 RGBA entries", "transparency kind 3"])
def test_a_forged_palette_is_refused_by_test_and_decode_in_one_line(tmp_path, tiny_registry, palette):
    f = tmp_path / "pal.png.ardm"
    f.write_bytes(forged(_p_file(tiny_registry), palette=palette))
    for args in (["decompress", "-t", f], ["decompress", "-o", tmp_path / "out.png", f]):
        r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "corrupted" in r.stderr, r.output
        assert "internal error" not in r.stderr
    assert not (tmp_path / "out.png").exists()
    with pytest.raises(Image.UnidentifiedImageError):  # the Pillow plugin refuses it at Image.open
        Image.open(io.BytesIO(f.read_bytes()), formats=["ARDM"])

