"""The benchmark suite on tiny data: honest bits/dim, lossy codecs caught, resumable rows, reports."""

import gzip
import hashlib
import io
import json
from functools import partial

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ardmzip
from ardmzip.benchmarks.cli import bench
from ardmzip.benchmarks.codecs import CLASSICAL, Codec, classical, learned
from ardmzip.benchmarks.environment import environment
from ardmzip.benchmarks.measure import Row, measure
from ardmzip.benchmarks.measurer import Measurer, Task, measure_tasks
from ardmzip.benchmarks.report import markdown
from ardmzip.benchmarks.run import BenchConfig, build_codecs, run
from ardmzip.benchmarks.store import RowStore
from ardmzip.benchmarks.summary import summarize
from ardmzip.cli import main
from ardmzip.models import data
from ardmzip.registry import REGISTRY

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)


def jpeg_codec() -> Codec:
    """Deliberately lossy: the suite must report it, never average it in."""
    def encode(a):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=90)
        return buf.getvalue(), None
    return Codec("jpeg-q90", "Pillow", encode, lambda d, channels: np.asarray(Image.open(io.BytesIO(d))))


def counting(codec: Codec, log: list) -> Codec:
    def encode(a):
        log.append(codec.name)
        return codec.encode(a)
    return Codec(codec.name, codec.library, encode, codec.decode)


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_codecs_are_lossless_and_counted_in_bytes(name):
    for image in (IMAGE, RNG.integers(0, 256, (8, 8, 4), dtype=np.uint8)):
        codec = classical(name)
        row = measure(codec, "set", "img", image)
        assert row.lossless and row.error is None, row.error
        assert row.bytes == len(codec.encode(image)[0]) and row.bpd == pytest.approx(8 * row.bytes / image.size)
        assert row.encode_s > 0 and row.decode_s > 0 and row.nll_bpd is None and row.calls is None


@pytest.mark.parametrize("name", ("png", "webp"))
def test_grey_and_opaque_images_come_back_in_their_own_layout(name):
    """WebP stores neither grey nor an alpha that is opaque everywhere: its decoder is told the input's channels."""
    grey = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    opaque = np.dstack([IMAGE, np.full(IMAGE.shape[:2], 255, np.uint8)])
    for image in (grey, opaque):
        row = measure(classical(name), "set", "img", image)
        assert row.lossless and row.error is None, row.error


def test_a_codec_that_changes_the_layout_is_still_caught():
    """Told the input is grey, a decoder whose channels differ gives them back as they are, to fail the check."""
    rgb = classical("webp")
    tinted = Codec("tint", "x", lambda a: rgb.encode(np.dstack([a, a, a + 1])), rgb.decode)
    row = measure(tinted, "set", "img", RNG.integers(0, 255, (5, 7), dtype=np.uint8))
    assert not row.lossless and "shape (5, 7, 3)" in row.error


def test_a_lossy_codec_is_reported_not_averaged():
    rows = [measure(c, "set", f"img{i}", IMAGE) for c in (classical("png"), jpeg_codec()) for i in range(2)]
    assert [r.lossless for r in rows] == [True, True, False, False]
    png, jpeg = summarize(rows)
    assert png.images == 2 and png.failed == () and png.set_bpd == pytest.approx(rows[0].bpd)
    assert jpeg.images == 0 and jpeg.failed == ("img0", "img1") and jpeg.set_bpd is None and jpeg.mean_bpd is None
    assert "**jpeg-q90 not lossless or refused on 2 image(s)**: img0, img1" in markdown([png, jpeg], [], environment(1))


def test_a_codec_that_refuses_an_image_is_reported():
    def refuse(a):
        raise ValueError("no such mode")
    row = measure(Codec("picky", "x", refuse, np.asarray), "set", "img", IMAGE)
    assert not row.lossless and row.error == "ValueError: no such mode" and row.bytes is None


def test_whole_set_and_per_image_means_differ_for_unequal_sizes():
    rows = [Row("s", "a", "c", "l", dims=100, lossless=True, bytes=100, encode_s=1.0, decode_s=1.0),
            Row("s", "b", "c", "l", dims=300, lossless=True, bytes=100, encode_s=3.0, decode_s=1.0)]
    s, = summarize(rows)
    assert s.set_bpd == pytest.approx(1600 / 400) and s.mean_bpd == pytest.approx((8 + 8 / 3) / 2)
    assert s.encode_s == 2.0 and s.calls is None


def test_ardmzip_rows_have_nll_and_network_calls(tiny_registry):
    codec = learned(tiny_registry.default, 4, threads=1)
    row = measure(codec, "set", "img", IMAGE)
    assert row.lossless and row.calls == 4 and row.budget == 4 and codec.name == f"ardmzip-{tiny_registry.default}-b4"
    assert row.nll_bpd > 0 and row.bpd > row.nll_bpd  # the file holds a header on top of the ideal code length
    assert measure(codec, "set", "img", IMAGE, nll=False).nll_bpd is None


def test_codec_choice_expands_groups_models_and_budgets(tiny_registry, tmp_path):
    cfg = BenchConfig(("cifar10",), tmp_path, tmp_path, codecs=("png", "ardmzip"), budgets=(2, 5))
    assert [c.name for c in build_codecs(cfg)] == ["png", "ardmzip-tiny-b2", "ardmzip-tiny-b5"]
    cfg.codecs, cfg.budgets = ("classical",), ()
    assert [c.name for c in build_codecs(cfg)] == list(CLASSICAL)


def test_a_searched_codec_is_named_for_it_and_counts_every_order_s_calls(tiny_registry, tmp_path):
    cfg = BenchConfig(("cifar10",), tmp_path, tmp_path, codecs=("ardmzip",), budgets=(4,), search=3)
    (codec,) = build_codecs(cfg)
    row = measure(codec, "set", "img", IMAGE)
    assert codec.name == "ardmzip-tiny-b4-s3" and row.lossless and row.calls == 12
    assert row.bytes == len(ardmzip.compress(IMAGE, budget=4, search=3))


def test_store_survives_a_cut_line_and_reads_gzipped_rows(tmp_path):
    row = measure(classical("png"), "set", "img", IMAGE)
    store = RowStore(tmp_path)
    store.append([row])
    with open(store.path, "a") as f:
        f.write('{"dataset": "set", "ima')  # killed mid-write
    assert RowStore(tmp_path).rows() == [row]
    store.path.rename(tmp_path / "plain")
    with gzip.open(tmp_path / "rows.jsonl.gz", "wt") as f:
        f.write((tmp_path / "plain").read_text())
    assert RowStore(tmp_path).rows() == [row]


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "pics"
    d.mkdir()
    for i in range(3):
        Image.fromarray(RNG.integers(0, 256, (6 + i, 5, 3), dtype=np.uint8)).save(d / f"p{i}.png")
    return d


def test_run_resumes_and_writes_reports(folder, tmp_path):
    out = tmp_path / "out"
    log: list = []
    codecs = [counting(classical("png"), log), jpeg_codec()]
    cfg = BenchConfig(("folder",), folder, out, limit=2, quiet=True)
    summaries = run(cfg, codecs)
    assert log == ["png"] * 3  # a warm-up crop, then two images
    assert [(s.codec, s.images, len(s.failed)) for s in summaries] == [("png", 2, 0), ("jpeg-q90", 0, 2)]
    assert {p.name for p in out.iterdir()} == {"rows.jsonl", "summary.json", "table.md", "bpd.png",
                                              "bpd_vs_time.png"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["environment"]["versions"]["numpy"] and summary["config"]["limit"] == 2
    cfg.limit = 3
    run(cfg, codecs)
    assert log == ["png"] * 5  # only the new image was measured (after its warm-up)
    assert len(RowStore(out).rows()) == 6


def test_each_row_is_stored_as_it_comes_not_when_its_image_is_done(folder, tmp_path):
    """A photo through many models takes long: a run stopped in an image's second codec keeps the first's row."""
    calls = []

    def stop_on_first_image(a):
        calls.append(a.shape)
        if len(calls) > 1:  # the warm-up crop passes; the first real image stops the run
            raise KeyboardInterrupt
        return classical("webp").encode(a)

    stopping = Codec("stopper", "test", stop_on_first_image, classical("webp").decode)
    cfg = BenchConfig(("folder",), folder, tmp_path / "out", limit=1, quiet=True)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, [classical("png"), stopping])
    assert [(r.image, r.codec) for r in RowStore(cfg.out).rows()] == [("p0.png", "png")]


def test_worker_processes_measure_the_rows_one_process_does(folder, tmp_path):
    """Workers build their own codecs (here the shipped default, which a spawned process sees) and read their
    own images; the parent stores every row once, and the files are the same bytes as in one process."""
    cfg = BenchConfig(("folder",), folder, tmp_path / "one", codecs=("png", "ardmzip"), models=(REGISTRY.default,),
                      budgets=(2,), quiet=True)
    run(cfg)
    cfg.out, cfg.jobs = tmp_path / "two", 2
    summaries = run(cfg)
    size = {r.key[1:3]: (r.bytes, r.lossless, r.nll_bpd) for r in RowStore(tmp_path / "one").rows()}
    rows = RowStore(tmp_path / "two").rows()
    assert len(rows) == 6 and {r.key[1:3]: (r.bytes, r.lossless, r.nll_bpd) for r in rows} == size
    assert [s.images for s in summaries] == [3, 3]
    assert "2 images at once" in (tmp_path / "two" / "table.md").read_text()
    with pytest.raises(ValueError, match="jobs=1"):
        run(cfg, [classical("png")])


@pytest.mark.parametrize("names,error", [(("nope",), "unknown codec"), (("webp",), "not the parent's")])
def test_a_worker_that_cannot_make_the_parents_codecs_stops_the_run(folder, names, error):
    """The error of a worker's first task reaches the parent (an initializer's would restart workers forever)."""
    tasks = [Task("folder", "f", i, f"p{i}", 0) for i in range(3)]
    build = partial(build_codecs, BenchConfig(("folder",), folder, folder, codecs=names))
    with pytest.raises((ValueError, RuntimeError), match=error):
        list(measure_tasks(tasks, 2, Measurer([classical("png")], folder, None, True), build))


def test_cli_prints_the_table_and_marks_quoted_figures(tmp_path, monkeypatch):
    x = RNG.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    (tmp_path / "cifar10").mkdir()
    np.save(tmp_path / "cifar10" / "test_x.npy", x)
    monkeypatch.setitem(data.ARRAY_SHA256, "cifar10/test_x.npy", hashlib.sha256(x.tobytes()).hexdigest())
    args = ["--dataset", "cifar10", "--data-dir", tmp_path, "--limit", 2, "--codec", "png", "--out", tmp_path / "o"]
    result = CliRunner().invoke(main, ["bench"] + [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "| png | 2 |" in result.output and "*IDF (quoted, not measured)*" in result.output
    result = CliRunner().invoke(bench, ["--dataset", "kodak", "--data-dir", str(tmp_path / "none"), "--codec", "png"])
    assert result.exit_code == 1 and "cannot read" in result.output


def test_the_benchmark_lifts_the_decoder_s_call_cap(tiny_registry, monkeypatch):
    """An upscaling model's full budget (4 calls per dimension) passes the cap that guards against forged
    files; coding past the cap for real takes a minute, so the calls' arguments are checked."""
    caps = []
    for name in ("compress_measured", "decompress"):
        real = getattr(ardmzip, name)
        monkeypatch.setattr(ardmzip, name, lambda *a, _real=real, **k: caps.append(k["max_calls"]) or _real(*a, **k))
    row = measure(learned(tiny_registry.default, 4, threads=1), "set", "img", IMAGE)
    assert row.lossless and caps == [None, None]
