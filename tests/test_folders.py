"""`compress -r` / `decompress -r`: trees, skips, failures, summaries, worker processes."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ardmzip import folders
from ardmzip.cli import main
from ardmzip.errors import ArdmzipError
from conftest import FIXTURES


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_tree(root):
    """Real photo crops at three depths, a text file, and a PNG cut short."""
    (root / "a" / "b").mkdir(parents=True)
    shutil.copy(FIXTURES / "kodim05_crop17x33.png", root / "top.png")
    shutil.copy(FIXTURES / "kodim23_crop48x40.png", root / "a" / "mid.png")
    Image.open(FIXTURES / "kodim05_crop17x33.png").convert("L").save(root / "a" / "b" / "deep.bmp")
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / "b" / "cut.png").write_bytes((FIXTURES / "kodim15_crop64x64.png").read_bytes()[:100])
    return ["top.png", "a/mid.png", "a/b/deep.bmp"]


def same_pixels(a, b) -> bool:
    a, b = Image.open(a), Image.open(b)
    return a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))


def test_tree_round_trip_keeps_paths_skips_and_fails_at_the_end(tiny_registry, tmp_path):
    images = make_tree(tmp_path / "in")
    r = run("compress", "-r", "--budget", 3, tmp_path / "in")
    assert r.exit_code == 1  # the cut PNG failed, after every other file was done
    assert "notes.txt: skipped, not an image" in r.stderr
    assert "cut.png: cannot read image" in r.stderr and "Traceback" not in r.output
    assert "3 files compressed, 1 skipped, 1 failed" in r.stderr and "bits/dim" in r.stderr
    for rel in images:
        assert (tmp_path / "in" / (rel + ".ardm")).is_file() and (tmp_path / "in" / rel).is_file()
    assert not (tmp_path / "in" / "a" / "notes.txt.ardm").exists()

    r = run("decompress", "-r", "--out-dir", tmp_path / "out", tmp_path / "in")
    assert r.exit_code == 0, r.output
    assert "3 files decompressed, 0 skipped, 0 failed" in r.stderr
    for rel in images:
        restored = tmp_path / "out" / (rel if rel.endswith(".png") else rel + ".png")
        assert same_pixels(restored, tmp_path / "in" / rel)


def test_existing_outputs_need_force_and_rm_removes_inputs(tiny_registry, tmp_path):
    make_tree(tmp_path)
    (tmp_path / "top.png.ardm").write_bytes(b"keep me")
    r = run("compress", "-r", "--budget", 2, tmp_path / "a", tmp_path / "top.png")
    assert r.exit_code == 1 and "already exists; use -f" in r.stderr
    assert (tmp_path / "top.png.ardm").read_bytes() == b"keep me"
    r = run("compress", "-r", "-f", "--rm", "--budget", 2, tmp_path / "top.png")
    assert r.exit_code == 0 and not (tmp_path / "top.png").exists()
    r = run("decompress", "-r", "-t", tmp_path)
    assert r.exit_code == 0 and "3 files decompressed" in r.stderr and "bytes verified" in r.stderr


def test_two_workers_write_the_same_bytes_as_one(tiny_model_entry, tmp_path):
    """Spawned workers load the model file themselves; outputs do not depend on the worker count."""
    for d in ("one", "two"):
        make_tree(tmp_path / d)
    model = tiny_model_entry.path
    assert run("compress", "-r", "-j", 1, "--model", model, "--budget", 3, tmp_path / "one").exit_code == 1
    r = run("compress", "-r", "-j", 2, "--model", model, "--budget", 3, tmp_path / "two")
    assert r.exit_code == 1 and "3 files compressed, 1 skipped, 1 failed" in r.stderr
    for f in sorted((tmp_path / "one").rglob("*.ardm")):
        assert f.read_bytes() == (tmp_path / "two" / f.relative_to(tmp_path / "one")).read_bytes()
    r = run("decompress", "-r", "-j", 2, "--model", model, "--out-dir", tmp_path / "back", tmp_path / "two")
    assert r.exit_code == 0, r.output
    assert same_pixels(tmp_path / "back" / "a" / "mid.png", FIXTURES / "kodim23_crop48x40.png")


def test_folder_options_need_r(tiny_registry, tmp_path):
    r = run("compress", "-j", 2, FIXTURES / "kodim05_crop17x33.png")
    assert r.exit_code == 2 and "go with -r" in r.output
    r = run("compress", "-r", "-o", tmp_path / "x", tmp_path)
    assert r.exit_code == 2
    r = run("compress", "-r", tmp_path / "missing")
    assert r.exit_code == 1 and "no such file or directory" in r.stderr


def test_one_progress_bar_counts_every_file_once(tiny_registry, tmp_path):
    from ardmzip import folders
    from ardmzip.cli import Options

    make_tree(tmp_path)
    opts = Options(None, False, False, False, True, False, None, 1 << 24)
    ticks, said, failed = [], [], []
    status = folders.main((str(tmp_path),), folders.FolderConfig(decompress=False, opts=opts, budget=2),
                          lambda done, total: ticks.append((done, total)), said.append, failed.append)
    assert status == 1 and ticks == [(i, 5) for i in range(1, 6)]  # 3 images, the text file, the cut PNG
    assert len(failed) == 1 and "cut.png" in failed[0] and "1 skipped, 1 failed" in said[-1]


def test_archives_in_a_tree_are_skipped_with_the_command_that_extracts_them(tiny_registry, tmp_path):
    make_tree(tmp_path)
    r = run("compress", "--archive", tmp_path / "set.ardm", "--orders", 0, "--budget", 2,
            tmp_path / "top.png", tmp_path / "a" / "mid.png")
    assert r.exit_code == 0, r.output
    assert run("compress", "--budget", 2, tmp_path / "top.png").exit_code == 0
    r = run("decompress", "-r", "--out-dir", tmp_path / "out", tmp_path)
    assert r.exit_code == 0, r.output
    assert f"set.ardm: skipped, an archive: extract it with ardmzip decompress {tmp_path / 'set.ardm'} -o DIR" \
        in r.stderr
    assert "decompress_archive" not in r.stderr and "1 files decompressed, 1 skipped, 0 failed" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["top.png"]


def test_two_roots_writing_one_output_both_fail_before_any_work(tiny_registry, tmp_path):
    """Even with -f, neither replaces the other; the rest of the files are still done."""
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        shutil.copy(FIXTURES / "kodim05_crop17x33.png", tmp_path / d / "same.png")
    shutil.copy(FIXTURES / "kodim23_crop48x40.png", tmp_path / "y" / "other.png")
    r = run("compress", "-r", "-f", "-j", 2, "--budget", 2, "--out-dir", tmp_path / "out",
            tmp_path / "x", tmp_path / "y")
    assert r.exit_code == 1
    assert r.stderr.count("would also be written from same.png; neither is written") == 2
    assert "1 files compressed, 0 skipped, 2 failed" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["other.png.ardm"]


def test_two_ardm_files_decompressing_to_one_png_both_fail(tiny_registry, tmp_path):
    shutil.copy(FIXTURES / "kodim05_crop17x33.png", tmp_path / "a.png")
    assert run("compress", "--budget", 2, "--rm", tmp_path / "a.png").exit_code == 0
    shutil.copy(tmp_path / "a.png.ardm", tmp_path / "a.ardm")
    r = run("decompress", "-r", "-f", tmp_path)
    assert r.exit_code == 1 and "0 files decompressed, 0 skipped, 2 failed" in r.stderr
    assert f"a.ardm: {tmp_path / 'a.png'} would also be written from {tmp_path / 'a.png.ardm'}" in r.stderr
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("failure", [KeyboardInterrupt, ArdmzipError])
def test_a_failed_or_interrupted_write_leaves_no_empty_folder(tiny_registry, tmp_path, monkeypatch, failure):
    make_tree(tmp_path / "in")
    assert run("compress", "-r", "--budget", 2, tmp_path / "in").exit_code == 1  # the cut PNG
    (tmp_path / "out").mkdir()  # was there before: kept
    write = folders.write_output

    def failing_in_the_deepest_folder(data, target, opts):
        if target.parent.name == "b":
            raise failure("disk full")
        write(data, target, opts)

    monkeypatch.setattr(folders, "write_output", failing_in_the_deepest_folder)
    r = run("decompress", "-r", "--batch", 1, "--out-dir", tmp_path / "out", tmp_path / "in")
    assert r.exit_code == (130 if failure is KeyboardInterrupt else 1)
    assert (tmp_path / "out").is_dir() and not (tmp_path / "out" / "a" / "b").exists()
    for folder in (p for p in (tmp_path / "out").rglob("*") if p.is_dir()):
        assert any(folder.iterdir()), f"{folder} left empty"
