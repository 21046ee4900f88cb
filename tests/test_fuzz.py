"""Property-based fuzzing of the decoder over every file kind ardmzip writes: a damaged file gives the
exact image(s) or an ArdmzipError, never another exception, wrong pixels or an unsafe name."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ardmzip
from ardmzip import fuzz
from ardmzip.archive import inspect_archive
from ardmzip.fuzz_corpus import KINDS, FuzzModels, build
from ardmzip.fuzz_damage import FORGED, PLAIN, mutate, split
from ardmzip.header import EXTERNAL_MODEL_ID, with_crc
from ardmzip.registry import REGISTRY
from test_image_planes import photo
from tiny_flows import tiny_ddf_entry, tiny_df_entry, tiny_idf_entry
from tiny_model import tiny_entry

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MODELS = FuzzModels("tiny", "tiny-up4", ("tiny-idf", "tiny-df"), ("tiny-ddf",))


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-models")
    return {e.name: e for e in (tiny_entry(d), tiny_entry(d, seed=1, model_id=203, name="tiny-up4", branching=4),
                                tiny_idf_entry(d), tiny_df_entry(d),
                                tiny_ddf_entry(d, kind="labels", model_id=204, name="tiny-ddf"))}


def _register(patch, entries) -> None:
    patch.setattr(REGISTRY, "entries", entries)
    patch.setattr(REGISTRY, "default", "tiny")
    patch.setattr(REGISTRY, "_loaded", {})


@pytest.fixture(scope="module")
def corpus(tiny_models):
    with pytest.MonkeyPatch.context() as patch:
        _register(patch, tiny_models)
        return build(KINDS, MODELS, budget=2)


@pytest.fixture
def registry(tiny_models, monkeypatch):
    _register(monkeypatch, tiny_models)


@pytest.fixture
def limits(corpus):
    return fuzz.Limits.around(corpus)


def test_the_corpus_holds_every_kind_of_file(corpus, registry, limits):
    """What the fuzzer claims to cover: each kind's files are what their name says, and decode exactly."""
    kinds = {k: [v for v in corpus if v.kind == k] for k in KINDS}
    heads = {k: [ardmzip.inspect(v.data) for v in vs] for k, vs in kinds.items() if k != "archive"}
    assert {h.bits for h in heads["8-bit"]} == {8} and {h.version for h in heads["16-bit"]} == {2}
    assert {h.mode for h in heads["8-bit"]} == {"RGB", "RGBA", "LA", "P", "PA", "L", "1"}
    assert {h.mode for h in heads["16-bit"]} == {"L", "RGB"}
    assert {h.model_id for h in heads["flow"]} == {201, 202} and {h.budget for h in heads["flow"]} == {1}
    assert {h.model_id for h in heads["upscale"]} == {203}
    assert {h.model_id for h in heads["model-file"]} == {EXTERNAL_MODEL_ID}
    assert {h.model_id for h in heads["label-map"]} == {204} and {h.mode for h in heads["label-map"]} == {"P", "L"}
    assert {h.version for h in heads["searched"]} == {3} and {h.bits for h in heads["searched"]} == {8, 16}
    assert {h.model_id for h in heads["searched"]} == {200, 203}
    archives = [inspect_archive(v.data) for v in kinds["archive"]]
    assert {a.orders for a in archives} == {0, 1, 2} and {a.model_id for a in archives} == {200, 201}
    assert sum(e.order_latent for a in archives for e in a.entries) >= 4  # bits-back images, for K = 1 and 2
    for v in corpus:
        assert fuzz.check(v.data, v, forged=False, limits=limits) == "exact", v.kind


def _files(corpus, kind):
    return [v for v in corpus if v.kind == kind]


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_flips_truncations_extensions_splices(corpus, registry, limits, kind, data):
    valid = data.draw(st.sampled_from(_files(corpus, kind)))
    damage = data.draw(st.sampled_from(["flip", "truncate", "extend", "splice"]))
    buf = bytearray(valid.data)
    if damage == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            buf[data.draw(st.integers(0, len(buf) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif damage == "truncate":
        buf = buf[:data.draw(st.integers(0, len(buf) - 1))]
    elif damage == "extend":
        buf += data.draw(st.binary(min_size=1, max_size=16))
    else:
        i = data.draw(st.integers(0, len(buf)))
        buf = buf[:i] + data.draw(st.binary(max_size=16)) + buf[data.draw(st.integers(i, len(buf))):]
    assert fuzz.check(bytes(buf), valid, forged=False, limits=limits) in ("refused", "exact")


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_garbage_payload_with_a_valid_file_checksum(corpus, registry, limits, kind, data):
    """Past the whole-file CRC: random coded data must still be caught (pixel CRCs, leftover words)."""
    valid = data.draw(st.sampled_from(_files(corpus, kind)))
    header_len = split(valid.data)[0]
    n_words = data.draw(st.integers(0, 40))
    body = valid.data[:header_len] + data.draw(st.binary(min_size=4 * n_words, max_size=4 * n_words))
    assert fuzz.check(with_crc(body), valid, forged=True, limits=limits) in ("refused", "exact")


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_forged_header_fields_bytes_and_payloads(corpus, registry, limits, kind, data):
    """The long fuzzer's structure-aware damage (fields of files and of archives' images, names), drawn here."""
    valid = data.draw(st.sampled_from(_files(corpus, kind)))
    other = data.draw(st.sampled_from(corpus))
    damage = data.draw(st.sampled_from(FORGED))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    assert fuzz.check(mutate(rng, valid.data, other.data, damage), valid, forged=True, limits=limits) in fuzz.PASS


def test_long_fuzz_script_passes_a_short_run(tiny_models, registry):
    lines = []
    counts = fuzz.run(cases=140, seconds=120, seed=1, budget=2, models=MODELS, report=lines.append)
    assert sum(counts.values()) == 140 and not any(key[2] == "failed" for key in counts)
    assert {key[0] for key in counts} == set(KINDS) and {key[1] for key in counts} == set(PLAIN + FORGED)
    assert {key[3] for key in counts} == {"alone", "batch"}
    assert not any(key[0] == "archive" and key[3] == "batch" for key in counts)  # archives are never batched
    assert lines[-1].startswith("140 cases in") and "0 failed" in lines[-1]
    assert any(line.startswith("archive ") for line in lines) and any(line.startswith("batch ") for line in lines)


def test_fuzz_oracle_catches_wrong_pixels_unsafe_names_crashes_and_hangs(corpus, registry, limits, monkeypatch):
    import dataclasses
    import time

    from ardmzip import api, batches
    from ardmzip.errors import CorruptFileError

    single = _files(corpus, "8-bit")[0]
    other = dataclasses.replace(single, images=((None, photo("RGB").crop((1, 0, 13, 9))),))
    assert fuzz.check(single.data, single, forged=False, limits=limits) == "exact"
    assert fuzz.check(single.data, other, forged=True, limits=limits) == "WRONG PIXELS"
    assert fuzz.check(single.data, single, forged=False, limits=fuzz.Limits(10, 10)) == "refused"
    archive = _files(corpus, "archive")[0]
    fewer = dataclasses.replace(archive, images=archive.images[:-1])
    assert fuzz.check(archive.data, fewer, forged=False, limits=limits) == "WRONG PIXELS"
    with monkeypatch.context() as patch:  # no ardmzip archive holds such a name: the oracle must still see it
        patch.setattr(fuzz, "decode", lambda data, model, limits, mate: [("../x.png", archive.images[0][1])])
        assert fuzz.check(archive.data, archive, forged=True, limits=limits).startswith("UNSAFE NAME")
    forged = with_crc(single.data[:-4])  # the same file: in a batch with itself, both must come back
    assert fuzz.check(forged, single, forged=True, limits=limits, batched=True) == "exact"

    def lose_the_batch(*args):  # one file's error raised for the whole batch (the bug this mode found)
        raise CorruptFileError("one bad file")

    with monkeypatch.context() as patch:
        patch.setattr(batches.engine, "decode_parts", lose_the_batch)
        assert fuzz.check(forged, single, forged=True, limits=limits, batched=True).startswith(
            "crash (BatchMateHarmed")
    assert fuzz._with_alarm(0.05, lambda: time.sleep(2) or "exact").startswith("timeout")
    monkeypatch.setattr(api, "encode_png", lambda image: 1 / 0)
    assert fuzz.check(single.data, single, forged=False, limits=limits).startswith("crash (ZeroDivisionError")


def test_the_long_fuzzer_stops_on_cpu_time(tiny_models, registry):
    lines = []
    counts = fuzz.run(cases=10 ** 6, seconds=600, seed=2, budget=2, models=MODELS, report=lines.append,
                      cpu_seconds=0.5)
    assert 0 < sum(counts.values()) < 10 ** 6 and "s of CPU), 0 failed" in lines[-1]
