"""`-r --batch`: same-size files coded together in each worker, outputs and messages as file by file;
each worker's thread budget."""

import shutil

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ardmzip import _engine as engine
from ardmzip import batches, folders
from ardmzip.cli import Options, main
from conftest import FIXTURES
from test_folders import same_pixels


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_tree(root):
    """Six 16x12 crops of real photos (two of them grey), a 64x64 photo and a copy of it cut short, a
    17x33 photo and a text file: batches of several sizes, with a bad file inside one."""
    (root / "a").mkdir(parents=True)
    photo = Image.open(FIXTURES / "kodim15_crop64x64.png")
    for i in range(4):
        photo.crop((5 * i, 3 * i, 5 * i + 16, 3 * i + 12)).save(root / ("a" if i % 2 else ".") / f"c{i}.png")
    for i in range(2):
        photo.crop((7 * i, 9, 7 * i + 16, 21)).convert("L").save(root / "a" / f"g{i}.png")
    shutil.copy(FIXTURES / "kodim15_crop64x64.png", root / "a" / "big.png")
    (root / "a" / "cut.png").write_bytes((FIXTURES / "kodim15_crop64x64.png").read_bytes()[:200])
    shutil.copy(FIXTURES / "kodim05_crop17x33.png", root / "odd.png")
    (root / "notes.txt").write_text("not an image")


def outputs(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.ardm"))}


def messages(stderr: str, root) -> list[str]:
    """Every line but the summary's time, paths relative, sorted (batches may finish in another order)."""
    lines = [line.replace(str(root), "ROOT") for line in stderr.splitlines()]
    return sorted(line.rsplit(";", 1)[0] for line in lines)


def test_batched_trees_write_the_bytes_and_messages_of_file_by_file(tiny_model_entry, tmp_path):
    model = tiny_model_entry.path
    runs = {}
    for name, options in [("alone", ["--batch", 1]), ("batched", []), ("two-workers", ["-j", 2, "--batch", 3])]:
        make_tree(tmp_path / name)
        r = run("compress", "-r", "--model", model, "--budget", 3, *options, tmp_path / name)
        assert r.exit_code == 1  # the cut PNG
        runs[name] = r.stderr, outputs(tmp_path / name)
    stderr, files = runs["alone"]
    assert len(files) == 8 and "8 files compressed, 1 skipped, 1 failed" in stderr and "cut.png: cannot read" in stderr
    for name in ("batched", "two-workers"):
        assert runs[name][1] == files
        assert messages(runs[name][0], tmp_path / name) == messages(stderr, tmp_path / "alone")

    r = run("decompress", "-r", "--model", model, "--out-dir", tmp_path / "out", tmp_path / "batched")
    assert r.exit_code == 0 and "8 files decompressed, 0 skipped, 0 failed" in r.stderr, r.output
    restored = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.png"))
    assert len(restored) == 8
    for rel in restored:
        assert same_pixels(tmp_path / "out" / rel, tmp_path / "batched" / rel)


def test_same_size_files_share_network_calls(tiny_registry, tmp_path, monkeypatch):
    sizes = []
    for name in ("encode_parts", "decode_parts"):
        def spy(*args, real=getattr(engine, name), **kwargs):
            sizes.append(len(args[2]))  # the images, or the headers
            return real(*args, **kwargs)
        monkeypatch.setattr(engine, name, spy)
    make_tree(tmp_path)
    assert run("compress", "-r", "--rm", "--budget", 2, tmp_path).exit_code == 1
    assert sorted(sizes) == [1, 1, 2, 4]  # odd.png, big.png, the grey crops, the colour crops
    sizes.clear()
    assert run("decompress", "-r", tmp_path).exit_code == 0
    assert sorted(sizes) == [1, 1, 2, 4]
    sizes.clear()
    for f in tmp_path.rglob("*.png"):
        f.unlink()
    assert run("decompress", "-r", "--batch", 3, tmp_path).exit_code == 0
    assert sorted(sizes) == [1, 1, 2, 2, 2]  # four in two batches of two, not three and one


def test_a_damaged_or_unwritable_file_fails_alone_in_its_batch(tiny_registry, tmp_path):
    make_tree(tmp_path / "t")
    make_tree(tmp_path / "originals")
    assert run("compress", "-r", "--rm", "--budget", 2, tmp_path / "t").exit_code == 1
    damaged = bytearray((tmp_path / "t" / "a" / "c1.png.ardm").read_bytes())
    damaged[-6] ^= 1
    (tmp_path / "t" / "a" / "c1.png.ardm").write_bytes(bytes(damaged))
    (tmp_path / "t" / "a" / "c3.png").write_bytes(b"keep me")  # c3.png.ardm's output exists: needs -f
    r = run("decompress", "-r", tmp_path / "t")
    assert r.exit_code == 1
    assert "c1.png.ardm: file is corrupted" in r.stderr and "c3.png already exists; use -f" in r.stderr
    assert "6 files decompressed, 0 skipped, 2 failed" in r.stderr
    assert (tmp_path / "t" / "a" / "c3.png").read_bytes() == b"keep me"
    assert not (tmp_path / "t" / "a" / "c1.png").exists()
    for rel in ("c0.png", "c2.png", "a/g0.png", "a/g1.png", "a/big.png", "odd.png"):
        assert same_pixels(tmp_path / "t" / rel, tmp_path / "originals" / rel)


def test_a_batch_that_fails_as_a_whole_is_coded_file_by_file(tiny_registry, tmp_path, monkeypatch):
    make_tree(tmp_path / "want")
    assert run("compress", "-r", "--budget", 2, "--batch", 1, tmp_path / "want").exit_code == 1
    together = batches.compress_many

    def fails_for_batches(images, **kwargs):
        if len(images) > 1:
            raise RuntimeError("no batches today")
        return together(images, **kwargs)

    monkeypatch.setattr(batches, "compress_many", fails_for_batches)
    make_tree(tmp_path / "got")
    r = run("compress", "-r", "--budget", 2, tmp_path / "got")
    assert r.exit_code == 1 and "8 files compressed, 1 skipped, 1 failed" in r.stderr
    assert outputs(tmp_path / "got") == outputs(tmp_path / "want")


def test_batches_need_r(tiny_registry):
    r = run("compress", "--batch", 4, FIXTURES / "kodim05_crop17x33.png")
    assert r.exit_code == 2 and "go with -r" in r.output


@pytest.mark.parametrize("jobs,asked,want", [(1, None, 4), (2, None, 2), (3, None, 1), (8, None, 1), (2, 3, 3)])
def test_each_worker_gets_its_share_of_the_cores(monkeypatch, jobs, asked, want):
    monkeypatch.setattr(folders, "idle_cores", lambda: 4)
    opts = Options(None, False, False, False, True, False, asked, 1 << 24)
    assert folders.FolderConfig(decompress=False, opts=opts, jobs=jobs).threads == want


def test_one_worker_codes_with_every_core_unless_told(tiny_registry, tmp_path, monkeypatch):
    """-j 1 (or -j 2 with one batch of work) sets the thread count itself instead of torch's default."""
    seen = []
    encode = engine.encode_parts

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return encode(*args, **kwargs)

    monkeypatch.setattr(engine, "encode_parts", spy)
    monkeypatch.setattr(folders, "idle_cores", lambda: 3)
    shutil.copy(FIXTURES / "kodim05_crop17x33.png", tmp_path / "x.png")
    opts = Options(None, False, False, False, True, False, None, 1 << 24)
    for jobs in (1, 2):
        cfg = folders.FolderConfig(decompress=False, opts=opts, jobs=jobs, budget=2)
        assert folders.main((str(tmp_path),), cfg, lambda *_: None, lambda _: None, print) == 0
        (tmp_path / "x.png.ardm").unlink()
    opts = Options(None, False, False, False, True, False, 1, 1 << 24)
    folders.main((str(tmp_path),), folders.FolderConfig(decompress=False, opts=opts, budget=2),
                 lambda *_: None, lambda _: None, print)
    assert seen == [3, 3, 1]
