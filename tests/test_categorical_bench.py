"""The categorical benchmark: label maps of the CIFAR-10 test set, model files beside classical codecs, all decoded."""

import hashlib
import json

import numpy as np
from click.testing import CliRunner

import ardmzip
from ardmzip.benchmarks.categorical import main
from ardmzip.benchmarks.codecs import image_models
from ardmzip.benchmarks.run import BenchConfig, build_codecs
from ardmzip.models import data
from ardmzip.models.flow_files import save_flow
from tiny_flows import tiny_ddf, tiny_ddf_entry, tiny_df


def test_label_maps_coded_by_model_files_and_png(tmp_path, monkeypatch):
    x = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    x[:, :16] //= 4  # some structure: a dark upper half
    (tmp_path / "cifar10").mkdir()
    np.save(tmp_path / "cifar10" / "test_x.npy", x)
    monkeypatch.setitem(data.ARRAY_SHA256, "cifar10/test_x.npy", hashlib.sha256(x.tobytes()).hexdigest())
    save_flow(tmp_path / "ddf.safetensors", "ddf", tiny_ddf("labels", 1), {})
    save_flow(tmp_path / "df.safetensors", "discrete-flow", tiny_df(1, classes=8, channels=1, onehot=True), {})
    out = tmp_path / "out"
    args = ["--data-dir", str(tmp_path), "--limit", "2", "--codec", "png", "--model", str(tmp_path / "ddf.safetensors"),
            "--model", str(tmp_path / "df.safetensors"), "--out", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert {row["codec"] for row in rows} == {"png", "ardmzip-ddf-b1", "ardmzip-df-b1"}
    assert len(rows) == 6 and all(row["lossless"] and row["dims"] == 1024 for row in rows)
    assert all(row["image"] in ("cifar10-rgb8-test-0", "cifar10-rgb8-test-3") for row in rows)
    assert all(row["nll_bpd"] > 0 for row in rows if row["codec"] != "png")
    assert "ardmzip-ddf-b1: " in r.output and "0 not lossless" in r.output
    assert "ardmzip-df-b1" in (out / "table.md").read_text()


def test_image_benchmarks_leave_class_map_models_out_by_default(tmp_path, monkeypatch, tiny_model_entry):
    labels = tiny_ddf_entry(tmp_path, "labels", model_id=205, name="tiny-labels")
    monkeypatch.setattr(ardmzip.REGISTRY, "entries", {e.name: e for e in (tiny_model_entry, labels)})
    monkeypatch.setattr(ardmzip.REGISTRY, "_loaded", {})
    assert image_models() == (tiny_model_entry.name,)
    cfg = BenchConfig(("cifar10",), tmp_path, tmp_path, codecs=("ardmzip",))
    assert [c.name for c in build_codecs(cfg)] == [f"ardmzip-{tiny_model_entry.name}-b{tiny_model_entry.default_budget}"]
