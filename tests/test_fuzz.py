"""Property-based fuzzing of the decoder: damaged files give the exact image or an ArdmzipError, never
another exception or wrong pixels."""

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ardmzip
from ardmzip.errors import ArdmzipError
from ardmzip.header import unpack
from test_image_planes import photo

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def valid(tiny_registry):
    im = photo("RGB").crop((0, 0, 12, 9))
    return im, ardmzip.compress(im, budget=3)


def decode_or_refuse(data: bytes, im) -> None:
    try:
        out = ardmzip.decompress(data)
    except ArdmzipError:
        return
    assert np.array_equal(np.asarray(out), np.asarray(im))


@SETTINGS
@given(st.data())
def test_flips_truncations_extensions_splices(valid, data):
    im, good = valid
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "splice"]))
    buf = bytearray(good)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            buf[data.draw(st.integers(0, len(buf) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        buf = buf[:data.draw(st.integers(0, len(buf) - 1))]
    elif kind == "extend":
        buf += data.draw(st.binary(min_size=1, max_size=16))
    else:
        i = data.draw(st.integers(0, len(buf)))
        buf = buf[:i] + data.draw(st.binary(max_size=16)) + buf[data.draw(st.integers(i, len(buf))):]
    decode_or_refuse(bytes(buf), im)


@SETTINGS
@given(st.data())
def test_garbage_payload_with_a_valid_file_checksum(valid, data):
    """Past the whole-file CRC: random coded data must still be caught (pixel CRC, leftover words)."""
    im, good = valid
    header_len = len(good) - 4 - len(unpack(good)[1])
    n_words = data.draw(st.integers(0, 40))
    body = good[:header_len] + data.draw(st.binary(min_size=4 * n_words, max_size=4 * n_words))
    decode_or_refuse(body + struct.pack("<I", zlib.crc32(body)), im)


def test_long_fuzz_script_passes_a_short_run(tiny_registry):
    from ardmzip.fuzz import FORGED, PLAIN, run

    lines = []
    counts = run(cases=60, seconds=60, seed=1, report=lines.append)
    assert sum(counts.values()) == 60 and not any(o == "failed" for _, o in counts)
    assert {k for k, _ in counts} == set(PLAIN + FORGED)
    assert lines[-1].startswith("60 cases in") and "0 failed" in lines[-1]


def test_fuzz_oracle_catches_wrong_pixels_crashes_and_hangs(tiny_registry, monkeypatch):
    import time

    from ardmzip import api, fuzz

    im, other = photo("RGB").crop((0, 0, 6, 5)), photo("RGB").crop((1, 0, 7, 5))
    data = ardmzip.compress(im, budget=2)
    assert fuzz.check(data, im, forged=False, max_pixels=100) == "exact"
    assert fuzz.check(data, other, forged=True, max_pixels=100) == "WRONG PIXELS"
    assert fuzz.check(data, im, forged=False, max_pixels=10) == "refused"
    assert fuzz._with_alarm(0.05, lambda: time.sleep(2) or "exact").startswith("timeout")
    monkeypatch.setattr(api, "encode_png", lambda image: 1 / 0)
    assert fuzz.check(data, im, forged=False, max_pixels=100).startswith("crash (ZeroDivisionError")
