"""`ardmzip compress --archive` and `ardmzip decompress` of an archive, through click's runner."""

import numpy as np
import pytest
from PIL import Image

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
