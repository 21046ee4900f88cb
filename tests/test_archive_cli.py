"""`ardmzip compress --archive` and `ardmzip decompress` of an archive, through click's runner."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ardmzip import api
from ardmzip.archive import compress_archive, inspect_archive
from ardmzip.header import varint, with_crc
from test_cli import one_line_error, run, same_pixels
from test_image_planes import photo


@pytest.fixture
def images(tmp_path, tiny_registry):
    paths = []
    for i, (mode, size) in enumerate([("RGB", (9, 7)), ("RGBA", (5, 12)), ("P", (6, 6)), ("L", (11, 3))]):
        p = tmp_path / f"in{i}_{mode}.png"
        photo(mode).crop((i, i, i + size[0], i + size[1])).save(p)
        paths.append(p)
    bmp = tmp_path / "grey.bmp"
    Image.fromarray(np.arange(35, dtype=np.uint8).reshape(5, 7)).save(bmp)
    return paths + [bmp]


def test_archive_round_trip_restores_every_name(images, tmp_path):
    archive = tmp_path / "set.ardm"
    r = run("compress", "--budget", 3, "--archive", archive, "-v", *images)
    assert r.exit_code == 0, r.output
    assert "5 images" in r.stderr and "bits/dim" in r.stderr
    assert all(p.exists() for p in images)  # inputs kept
    r = run("decompress", archive, "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    for p in images:
        out = tmp_path / "out" / (p.name if p.suffix == ".png" else p.name + ".png")
        assert same_pixels(out, p)
    assert one_line_error(run("decompress", archive, "-o", tmp_path / "out")).endswith("use -f to overwrite")
    assert run("decompress", "-f", archive, "-o", tmp_path / "out").exit_code == 0
    r = run("decompress", "-t", "-v", archive)
    assert r.exit_code == 0 and "5 images OK" in r.stderr
    r = run("decompress", archive)  # default folder: the archive's name less .ardm
    assert r.exit_code == 0 and same_pixels(tmp_path / "set" / images[0].name, images[0])


def test_archive_refusals_are_one_line(images, tmp_path):
    archive = tmp_path / "set.ardm"
    assert "same name" in one_line_error(run("compress", "--archive", archive, images[0], images[0]))
    assert not archive.exists()
    assert "no such file" in one_line_error(run("compress", "--archive", archive, images[0], tmp_path / "nope.png"))
    assert not archive.exists()
    assert run("compress", "--budget", 2, "--archive", archive, images[0]).exit_code == 0
    assert "already exists" in one_line_error(run("compress", "--archive", archive, images[1]))
    data = bytearray(archive.read_bytes())
    data[-9] ^= 1
    archive.write_bytes(bytes(data))
    assert "corrupted" in one_line_error(run("decompress", archive, "-o", tmp_path / "x"))
    assert not (tmp_path / "x").exists()
    assert "-o" in one_line_error(run("decompress", "-c", archive))


def test_remove_inputs_after_success(images, tmp_path):
    archive = tmp_path / "set.ardm"
    assert run("compress", "--budget", 2, "--orders", 0, "--rm", "--archive", archive, *images[:2]).exit_code == 0
    assert not images[0].exists() and not images[1].exists() and archive.exists()


def test_info_lists_the_images(images, tmp_path):
    archive = tmp_path / "set.ardm"
    assert run("compress", "--budget", 2, "--archive", archive, *images[:2]).exit_code == 0
    r = run("info", archive)
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert "archive of 2 images" in lines[0] and "tiny" in lines[0]
    assert lines[1].startswith(f"  {images[0].name}: 9x7 RGB")


def forged(data: bytes, old: bytes, new: bytes) -> bytes:
    """The archive with bytes replaced and its checksum recomputed, as an attacker (or another tool) would."""
    body = data[:-4].replace(old, new, 1)
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("args", [["-f", "--rm"], ["-f"], ["--rm"]])
def test_an_input_is_never_the_archive(images, tmp_path, args):
    victim, other = images[0], images[1]
    before = victim.read_bytes()
    assert "same file" in one_line_error(run("compress", *args, "--archive", victim, victim))
    assert "same file" in one_line_error(run("compress", *args, "--archive", victim, other, victim))
    link = tmp_path / "link.png"
    link.symlink_to(victim)
    assert "same file" in one_line_error(run("compress", *args, "--archive", link, other, victim))
    assert victim.read_bytes() == before and other.exists()


def _archive_of(tmp_path, names):
    """An archive of small images under these names (to be forged into others of the same lengths)."""
    archive = tmp_path / "set.ardm"
    archive.write_bytes(compress_archive([(n, photo("RGB").crop((i, 0, i + 3, 2))) for i, n in enumerate(names)],
                                         budget=2, orders=0))
    return archive


@pytest.mark.parametrize("force", [[], ["-f"]])
def test_names_extracting_to_one_file_write_nothing(tiny_registry, tmp_path, force):
    archive = _archive_of(tmp_path, ["b.png", "a.png"])
    archive.write_bytes(forged(archive.read_bytes(), b"b.png", b"a.PNG"))  # a.PNG and a.png: one file on macOS
    err = one_line_error(run("decompress", *force, archive, "-o", tmp_path / "out"))
    assert str(archive) in err and "same file" in err
    assert not (tmp_path / "out").exists()


def test_a_file_where_another_image_needs_a_folder_writes_nothing(tiny_registry, tmp_path):
    archive = _archive_of(tmp_path, ["d.png", "e.png/x"])
    archive.write_bytes(forged(archive.read_bytes(), b"e.png/x", b"d.png/x"))
    err = one_line_error(run("decompress", "-f", archive, "-o", tmp_path / "out"))
    assert "needs a folder" in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_a_file_in_the_way_of_a_folder_is_refused_before_decoding(tiny_registry, tmp_path):
    archive = _archive_of(tmp_path, ["a.png", "sub/b.png"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_bytes(b"a file")
    err = one_line_error(run("decompress", "-f", archive, "-o", out))
    assert "is not a folder" in err and not (out / "a.png").exists()


def test_an_empty_archive_is_refused_by_info_and_decompress(images, tmp_path):
    archive = tmp_path / "set.ardm"
    assert run("compress", "--budget", 2, "--orders", 0, "--archive", archive, images[0]).exit_code == 0
    data = archive.read_bytes()
    empty = tmp_path / "empty.ardm"
    head = inspect_archive(data)
    fixed = 3 + 1 + 1 + len(head.weights_tag) + 1 + len(varint(head.budget)) + len(varint(head.orders))
    empty.write_bytes(with_crc(data[:fixed] + varint(0)))
    for cmd in (["info"], ["decompress"], ["decompress", "-t"]):
        err = one_line_error(run(*cmd, empty))
        assert err.startswith(f"ardmzip: {empty}: ") and "no images" in err
    assert not (tmp_path / "empty").exists()


def test_a_refused_archive_header_names_the_file(images, tmp_path):
    archive = tmp_path / "set.ardm"
    assert run("compress", "--budget", 2, "--archive", archive, images[0]).exit_code == 0
    archive.write_bytes(forged(archive.read_bytes(), images[0].name[:3].encode(), b"../"))
    err = one_line_error(run("decompress", archive, "-o", tmp_path / "out"))
    assert err.startswith(f"ardmzip: {archive}: ") and "unsafe" in err


def test_unusual_file_names(tiny_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo("RGB").crop((0, 0, 3, 2)).save("shot 12:30.png")
    assert run("compress", "--budget", 2, "--archive", "set.ardm", "shot 12:30.png").exit_code == 0
    assert run("decompress", "set.ardm", "-o", "out").exit_code == 0
    assert same_pixels("out/shot 12:30.png", "shot 12:30.png")
    Path("n.txt").write_text("not an image")
    err = one_line_error(run("compress", "--archive", "t.ardm", "n.txt"))
    assert err.startswith("ardmzip: n.txt: ") and err.count("n.txt") == 1
    odd = os.fsdecode(b"\xffodd.png")
    Path(odd).write_bytes(Path("shot 12:30.png").read_bytes())
    err = one_line_error(run("compress", "--archive", "u.ardm", odd))
    assert "not valid UTF-8" in err and "internal error" not in err
    assert not Path("t.ardm").exists() and not Path("u.ardm").exists()


def test_orders_without_archive_is_a_usage_error(images):
    r = run("compress", "--orders", 2, images[0])
    assert r.exit_code == 2 and "--archive" in r.output
    assert not images[0].with_name(images[0].name + ".ardm").exists()


def test_max_archive_pixels_limits_both_ways(images, tmp_path):
    archive = tmp_path / "set.ardm"
    total = sum(Image.open(p).width * Image.open(p).height for p in images)
    error = one_line_error(run("compress", "--budget", 2, "--max-archive-pixels", total - 1, "--archive", archive,
                               *images))
    assert "in all exceeds the limit" in error and not archive.exists()
    assert run("compress", "--budget", 2, "--archive", archive, *images).exit_code == 0
    error = one_line_error(run("decompress", "--max-archive-pixels", total - 1, archive, "-o", tmp_path / "out"))
    assert "--max-archive-pixels" in error and not (tmp_path / "out").exists()
    assert run("decompress", "--max-archive-pixels", total, archive, "-o", tmp_path / "out").exit_code == 0


@pytest.mark.parametrize("out", [None, "out"])
def test_an_interrupted_extraction_removes_the_folders_it_made_and_only_those(tiny_registry, tmp_path, monkeypatch,
                                                                              out):
    archive = _archive_of(tmp_path, ["a.png", "dir/sub/b.png", "c.png"])
    if out:
        (tmp_path / out / "dir").mkdir(parents=True)  # folders that were there before are kept
    encode_png, calls = api.encode_png, []

    def interrupted_at_the_last_image(image):
        calls.append(image)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return encode_png(image)

    monkeypatch.setattr(api, "encode_png", interrupted_at_the_last_image)
    r = run("decompress", archive, *(["-o", tmp_path / out] if out else []))
    assert r.exit_code == 130 and "interrupted" in r.stderr and len(calls) == 3
    if out:
        assert sorted(p.name for p in (tmp_path / out).rglob("*")) == ["dir"]
    else:
        assert not (tmp_path / "set").exists()
