"""The -j benchmark runs the public command per configuration and writes what it timed."""

import json
import shutil

from click.testing import CliRunner

from ardmzip.benchmarks import folders_speedup
from conftest import FIXTURES


def test_times_each_configuration_and_writes_summary_and_table(tiny_model_entry, tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("kodim05_crop17x33.png", "kodim23_crop48x40.png"):
        shutil.copy(FIXTURES / name, tmp_path / "data" / name)
    r = CliRunner().invoke(folders_speedup.main, [
        "--dataset", "folder", "--data-dir", str(tmp_path / "data"), "--limit", "2", "--repeat", "1",
        "--config", "-j 1 --threads 1", "--config", "-j 1", "--model", str(tiny_model_entry.path),
        "--budget", "2", "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]
    assert [row["config"] for row in rows] == ["-j 1 --threads 1", "-j 1"]
    assert all(row["exit_status"] == 0 and "2 files compressed, 0 skipped, 0 failed" in row["summary"]
               for row in rows)
    assert rows[0]["bytes"] == rows[1]["bytes"] > 0 and all(row["wall_s"] > 0 for row in rows)
    assert r.stdout == (tmp_path / "out" / "table.md").read_text()
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == [
        "kodim05_crop17x33.png", "kodim23_crop48x40.png"]


def test_decompress_runs_are_timed_and_checked(tiny_model_entry, tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("kodim05_crop17x33.png", "kodim23_crop48x40.png"):
        shutil.copy(FIXTURES / name, tmp_path / "data" / name)
    r = CliRunner().invoke(folders_speedup.main, [
        "--dataset", "folder", "--data-dir", str(tmp_path / "data"), "--limit", "2", "--repeat", "1",
        "--config", "-j 1 --threads 1 --batch 2", "--decompress",
        "--model", str(tiny_model_entry.path), "--budget", "2", "--out", str(tmp_path / "out")],
        catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]
    assert [row["config"] for row in rows] == ["-j 1 --threads 1 --batch 2"]
    assert all(row["decompress_exit_status"] == 0 and row["decoded_exactly"] is True and row["decompress_wall_s"] > 0
               and "2 files decompressed, 0 skipped, 0 failed" in row["decompress_summary"] for row in rows)
    assert r.stdout == (tmp_path / "out" / "table.md").read_text() and "decompress wall s" in r.stdout
