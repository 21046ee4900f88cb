"""Discrete flows through the public API: registered or by path, every image mode, budget rules, damage."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.benchmarks.measure import measure
from ardmzip.benchmarks.run import BenchConfig, build_codecs
from ardmzip.registry import REGISTRY
from conftest import FIXTURES
from tiny_flows import tiny_ddf_entry, tiny_df_entry, tiny_idf_entry

ENTRIES = {"idf": tiny_idf_entry, "discrete-flow": tiny_df_entry, "ddf": tiny_ddf_entry}


@pytest.fixture(scope="module", params=sorted(ENTRIES))
def entry(request, tmp_path_factory):
    return ENTRIES[request.param](tmp_path_factory.mktemp("flows"))


@pytest.fixture
def registered(entry, monkeypatch):
    monkeypatch.setattr(REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    return entry


def images():
    rgb = Image.open(FIXTURES / "kodim05_crop17x33.png").convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    return {"RGB": rgb, "RGBA": rgba, "L": rgb.convert("L"), "P": rgb.convert("P"), "1": rgb.convert("1")}


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "1"])
def test_round_trip_every_mode(registered, mode):
    im = images()[mode]
    data = ardmzip.compress(im, model=registered.name)
    head = ardmzip.inspect(data)
    assert head.model_id == registered.model_id and head.budget == 1
    back = ardmzip.decompress(data)
    assert back.mode == im.mode and np.array_equal(np.asarray(back), np.asarray(im))


def test_model_file_by_path(entry):
    im = images()["RGB"]
    data = ardmzip.compress(im, model=str(entry.path))
    assert ardmzip.inspect(data).model_id == 0
    assert np.array_equal(np.asarray(ardmzip.decompress(data, model=str(entry.path))), np.asarray(im))


def test_same_bytes_for_any_thread_count(registered):
    im = images()["RGB"]
    assert ardmzip.compress(im, model=registered.name, threads=1) == ardmzip.compress(im, model=registered.name, threads=2)


def test_budget_other_than_one_is_refused(registered):
    with pytest.raises(ardmzip.ArdmzipError, match="one network pass"):
        ardmzip.compress(images()["RGB"], model=registered.name, budget=8)
    assert ardmzip.inspect(ardmzip.compress(images()["RGB"], model=registered.name, budget=1)).budget == 1


def test_model_bits_near_the_file_size(registered):
    im = images()["RGB"]
    bits = ardmzip.model_bits(im, model=registered.name)
    coded = 8 * len(ardmzip.compress(im, model=registered.name))
    assert abs(bits - coded) < 0.1 * coded  # a random model: its zero weights cost more than their quantized counts
    out = ardmzip.compress_measured(im, model=registered.name)
    assert 8 * len(out.data) == coded and out.model_bits == pytest.approx(bits, rel=1e-12)


def test_damaged_payload_is_reported(registered):
    data = bytearray(ardmzip.compress(images()["RGB"], model=registered.name))
    data[len(data) // 2] ^= 0x10
    with pytest.raises(ardmzip.ArdmzipError):
        ardmzip.decompress(bytes(data))


def test_damaged_files_fail_cleanly(registered):
    """Flipped bytes and truncations, some behind a recomputed file checksum so that the flow decodes
    damaged latents: the original pixels or an ardmzip error, nothing else."""
    im = images()["RGB"]
    data = ardmzip.compress(im, model=registered.name)
    rng = np.random.default_rng(0)
    for case in range(60):
        bad = bytearray(data)
        if case % 3 == 1:
            bad = bad[: int(rng.integers(0, len(bad)))]
        else:
            bad[int(rng.integers(0, len(bad) - 4))] ^= 1 << int(rng.integers(0, 8))
        if case % 3 == 2:
            bad = bad[:-4] + struct.pack("<I", zlib.crc32(bytes(bad[:-4])))
        try:
            back = ardmzip.decompress(bytes(bad))
        except ardmzip.ArdmzipError:
            continue
        assert np.array_equal(np.asarray(back), np.asarray(im))


def test_benchmark_runs_a_flow_once_whatever_the_budgets(registered, tmp_path):
    cfg = BenchConfig(("cifar10",), tmp_path, tmp_path, codecs=("ardmzip",), models=(registered.name,), budgets=(2, 5))
    codecs = build_codecs(cfg)
    assert [c.name for c in codecs] == [f"ardmzip-{registered.name}-b1"]
    row = measure(codecs[0], "set", "img", np.asarray(images()["RGB"]))
    assert row.lossless and row.calls == 1 and row.nll_bpd > 0


def test_search_leaves_a_flow_alone_and_an_order_seed_in_its_file_is_refused(registered):
    """A flow has no generation order: search codes its one pass once, and a file naming an order is forged."""
    from dataclasses import replace

    from ardmzip import header as fmt

    im = images()["RGB"]
    data = ardmzip.compress(im, model=registered.name)
    assert ardmzip.compress(im, model=registered.name, search=4) == data
    head, payload = fmt.unpack(data)
    forged = fmt.pack(replace(head, order_seed=1, version=fmt.ORDER_SEED_VERSION), payload)
    with pytest.raises(ardmzip.FormatError, match="no generation order"):
        ardmzip.decompress(forged)
