"""The command line's shared file rules: output names and when an input is its own output."""

from pathlib import Path

from ardmzip.cli_files import decompressed_name, same_file


def test_decompressed_names_follow_the_archive_rule():
    assert decompressed_name(Path("d/photo.png.ardm")) == Path("d/photo.png")
    assert decompressed_name(Path("d/photo.PNG.ardm")) == Path("d/photo.PNG")
    assert decompressed_name(Path("other.jpg.ardm")) == Path("other.jpg.png")
    assert decompressed_name(Path("bare.ardm")) == Path("bare.png")
    assert decompressed_name(Path(".png.ardm")) == Path(".png")  # the file it was made from


def test_same_file_by_path_link_or_hard_link(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = tmp_path / "a.png"
    a.write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(a)
    (tmp_path / "hard.png").hardlink_to(a)
    (tmp_path / "b.png").write_bytes(b"x")
    assert same_file("a.png", a) and same_file("./sub/../a.png", a)
    assert same_file("link.png", a) and same_file("hard.png", a)
    assert same_file("missing.png", tmp_path / "missing.png")  # not there yet, but one path
    assert not same_file("b.png", a) and not same_file("-", a) and not same_file("missing.png", a)


def test_write_outputs_is_all_or_none(tmp_path):
    import pytest

    from ardmzip.cli_files import Options, write_outputs
    from ardmzip.errors import ArdmzipError

    opts = Options(None, False, True, False, True, False, None, 1)
    (tmp_path / "b").write_bytes(b"old")

    def failing():
        yield b"1", tmp_path / "a"
        yield b"2", tmp_path / "b"
        raise ArdmzipError("the third image failed")

    with pytest.raises(ArdmzipError, match="third"):
        write_outputs(failing(), opts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"] and (tmp_path / "b").read_bytes() == b"old"
    write_outputs(iter([(b"1", tmp_path / "a"), (b"2", tmp_path / "b")]), opts)
    assert [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())] == [("a", b"1"), ("b", b"2")]
    with pytest.raises(ArdmzipError, match="already exists"):
        write_outputs(iter([(b"3", tmp_path / "c"), (b"4", tmp_path / "a")]), Options(None, False, False, False,
                                                                                       True, False, None, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
