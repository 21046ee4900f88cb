"""gzip and zstd habits on the command line (issue 35 item 7): files with no command word, -d/-z, -k,
-V, -c refusing a terminal, and the hint for a folder given without -r."""

import os
import shutil
import subprocess
import sys
from importlib.metadata import version

import pytest
from click.testing import CliRunner

from ardmzip import cli_files
from ardmzip.cli import main
from conftest import FIXTURES
from test_cli import one_line_error, same_pixels

PHOTO = "kodim05_crop17x33.png"


@pytest.fixture
def work(tmp_path, tiny_registry, monkeypatch):
    shutil.copy(FIXTURES / PHOTO, tmp_path / PHOTO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False, prog_name="ardmzip")


def test_files_with_no_command_are_compressed_or_decompressed_by_their_suffix(work):
    shutil.copy(work / PHOTO, work / "b.png")
    r = run("--budget", 2, PHOTO)
    assert r.exit_code == 0, r.output
    assert (work / f"{PHOTO}.ardm").exists() and (work / PHOTO).exists()  # input kept, as gzip -k
    (work / PHOTO).rename(work / "original.png")
    r = run("--budget", 2, "b.png", f"{PHOTO}.ardm")  # one of each, in one run
    assert r.exit_code == 0, r.output
    assert (work / "b.png.ardm").exists() and (work / f"{PHOTO}.ardm").exists()
    assert same_pixels(work / PHOTO, work / "original.png")


def test_d_decompresses_and_z_compresses_every_file(work):
    assert run("-z", "--budget", 2, PHOTO).exit_code == 0
    assert "unknown suffix" in one_line_error(run("-d", PHOTO))  # -d as decompress: .ardm files only
    r = run("-d", "-o", work / "back.png", f"{PHOTO}.ardm")
    assert r.exit_code == 0 and same_pixels(work / "back.png", work / PHOTO)
    shutil.copy(work / PHOTO, work / "pic.ardm")  # an image misnamed .ardm: compressed with -f, as gzip -f
    assert "already has the .ardm suffix" in one_line_error(run("-z", "pic.ardm"))
    assert run("-z", "-f", "--budget", 2, "pic.ardm").exit_code == 0 and (work / "pic.ardm.ardm").exists()
    r = run("-t", "-v", f"{PHOTO}.ardm")  # -t tests, as gzip -t
    assert r.exit_code == 0 and "OK" in r.stderr


@pytest.mark.parametrize("args", [["-d", "-z"], ["-t", "-z"], ["-d", "--budget", 3], ["-t", "--search", 2],
                                  ["-k", "--rm"]])
def test_contradicting_options_are_usage_errors(work, args):
    r = run(*args, PHOTO)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not (work / f"{PHOTO}.ardm").exists()


def test_keep_is_accepted_everywhere_and_keeps_the_input(work):
    for args in (["-k"], ["compress", "-k", "-f"]):
        assert run(*args, "--budget", 2, PHOTO).exit_code == 0
        assert (work / PHOTO).exists()
    (work / PHOTO).unlink()
    assert run("decompress", "-k", f"{PHOTO}.ardm").exit_code == 0
    assert (work / PHOTO).exists() and (work / f"{PHOTO}.ardm").exists()


def test_files_named_like_commands_are_reached_after_a_double_dash_or_by_path(work):
    shutil.copy(work / PHOTO, work / "compress")
    assert run("--budget", 2, "--", "compress").exit_code == 0
    assert (work / "compress.ardm").exists()
    assert run("-f", "--budget", 2, "./compress").exit_code == 0
    assert run("-z", "-f", "--budget", 2, "--", "compress").exit_code == 0
    r = run("compress", "--budget", 2, "-f", PHOTO)  # the command word keeps its meaning
    assert r.exit_code == 0 and (work / f"{PHOTO}.ardm").exists()


def test_a_mistyped_command_is_still_a_usage_error(work):
    r = run("decompres", f"{PHOTO}.ardm")
    assert r.exit_code == 2 and "No such command" in r.output and "decompress" in r.output
    assert "no such file" in one_line_error(run("missing.png"))  # a file name is a file
    r = run("-q", "compress", PHOTO)  # options before the command word
    assert r.exit_code == 2 and "a command goes first: ardmzip compress [OPTIONS]" in r.output
    assert not (work / f"{PHOTO}.ardm").exists()


def test_version_short_and_long(work):
    for flag in ("-V", "--version"):
        r = run(flag)
        assert r.exit_code == 0 and r.stdout.startswith(f"ardmzip {version('ardmzip')} ")


def test_help_shows_the_default_mode(work):
    r = run("-h")
    assert r.exit_code == 0 and "[FILE]... | COMMAND" in r.stdout and "-d, --decompress" in r.stdout
    r = run("-d", "-h")
    assert r.exit_code == 0 and r.stdout.startswith("Usage: ardmzip [OPTIONS] [FILES]...")


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(cli_files, "stdout_is_terminal", lambda: True)


def test_binary_data_is_not_written_to_a_terminal_without_force(work, terminal):
    for args in (["-c", PHOTO], ["compress", "-c", PHOTO]):
        r = run(*args)
        assert one_line_error(r) == "ardmzip: compressed data not written to a terminal. Use -f to force"
        assert r.stdout_bytes == b""
    r = run("compress", "-", input=(work / PHOTO).read_bytes())  # standard input goes to standard output
    assert "not written to a terminal" in one_line_error(r)
    r = run("-c", "-f", "--budget", 2, PHOTO)
    assert r.exit_code == 0 and r.stdout_bytes.startswith(b"ARZ")
    (work / "x.ardm").write_bytes(r.stdout_bytes)
    for args in (["-d", "-c", "x.ardm"], ["decompress", "-c", "x.ardm"], ["-c", "x.ardm"]):
        r = run(*args)
        assert "decompressed image (PNG) not written to a terminal. Use -f" in one_line_error(r)
    assert run("-d", "-c", "-f", "x.ardm").stdout_bytes.startswith(b"\x89PNG")
    assert run("-t", "x.ardm").exit_code == 0  # testing writes nothing
    assert run("-d", "-o", "out.png", "x.ardm").exit_code == 0  # nor does a file output go to the terminal


def test_stdout_refusal_at_a_real_terminal(work):
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    try:
        code = "from ardmzip.cli import main; main(prog_name='ardmzip')"
        r = subprocess.run([sys.executable, "-c", code, "-c", PHOTO], stdout=follower, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert r.returncode == 1
    assert r.stderr.strip() == "ardmzip: compressed data not written to a terminal. Use -f to force"


def test_standard_input_when_no_file_is_given(work, monkeypatch):
    r = run("--budget", 2, input=(work / PHOTO).read_bytes())
    assert r.exit_code == 0 and r.stdout_bytes.startswith(b"ARZ")
    back = run("-d", input=r.stdout_bytes)
    assert back.exit_code == 0
    (work / "back.png").write_bytes(back.stdout_bytes)
    assert same_pixels(work / "back.png", work / PHOTO)
    monkeypatch.setattr(cli_files, "stdin_is_terminal", lambda: True)
    r = run("-d")
    assert r.exit_code == 2 and "standard input is a terminal" in r.output


def test_a_folder_without_r_gets_a_hint(work):
    (work / "photos").mkdir()
    shutil.copy(work / PHOTO, work / "photos" / PHOTO)
    assert one_line_error(run("photos")) == "ardmzip: photos: is a directory (use -r to compress a folder)"
    assert "(use -r to compress a folder)" in one_line_error(run("compress", "photos"))
    assert "(use -r to decompress a folder)" in one_line_error(run("-d", "photos"))
    assert "(use -r to decompress a folder)" in one_line_error(run("decompress", "photos"))
    r = run("-r", "-q", "--budget", 2, "photos")
    assert r.exit_code == 0 and (work / "photos" / f"{PHOTO}.ardm").exists()
    r = run("-d", "-r", "-q", "--out-dir", "out", "photos")
    assert r.exit_code == 0 and same_pixels(work / "out" / PHOTO, work / PHOTO)


def test_piped_standard_input_with_no_argument_is_compressed_as_gzip_does(work, monkeypatch):
    r = run(input=(work / PHOTO).read_bytes())  # `cat a.png | ardmzip`, as `ardmzip -c -`
    assert r.exit_code == 0 and r.stdout_bytes.startswith(b"ARZ"), r.output
    monkeypatch.setattr(cli_files, "stdin_is_terminal", lambda: True)
    r = run()  # at a terminal, nothing to read: the help
    assert r.exit_code == 2 and "[FILE]... | COMMAND" in r.output and r.stdout_bytes == b""


def test_piped_standard_input_is_not_compressed_to_a_terminal(work, terminal):
    r = run(input=(work / PHOTO).read_bytes())
    assert one_line_error(r) == "ardmzip: compressed data not written to a terminal. Use -f to force"


@pytest.mark.parametrize("args", [["--nonsense", PHOTO], ["--budget", 0, PHOTO], ["-d", "--nonsense"]])
def test_usage_errors_with_no_command_name_the_program_once(work, args):
    r = run(*args)
    assert r.exit_code == 2 and "Try 'ardmzip --help' for help." in r.stderr and "ardmzip ardmzip" not in r.output


def test_an_ardmzip_file_is_never_compressed_again(work):
    assert run("--budget", 2, PHOTO).exit_code == 0
    ardm = f"{PHOTO}.ardm"
    (work / "tree").mkdir()
    renamed = work / "tree" / "renamed.bin"
    shutil.copy(work / ardm, renamed)
    for args in (["-z", "-f", ardm], ["compress", "-f", ardm], ["-z", ardm], ["compress", ardm], [renamed],
                 ["compress", "-f", renamed]):
        assert one_line_error(run(*args)).endswith("is already an ardmzip file -- not compressed again"), args
    r = run("-z", "-c", "-f", "-", input=(work / ardm).read_bytes())
    assert one_line_error(r) == "ardmzip: standard input is already an ardmzip file -- not compressed again"
    assert "already an ardmzip file" in one_line_error(run("compress", "--archive", "set.ardm", PHOTO, renamed))
    assert sorted(p.name for p in work.rglob("*")) == sorted([PHOTO, ardm, "tree", "renamed.bin"])
    r = run("-r", "--budget", 2, "tree")  # in a tree it is skipped, as a file that is not an image is
    assert r.exit_code == 0 and "renamed.bin: skipped, already an ardmzip file" in r.stderr
    assert not (work / "tree" / "renamed.bin.ardm").exists()


def test_z_help_says_what_z_does(work):
    text = " ".join(run("-h").stdout.split())
    assert ("-z, --compress Compress every FILE (one ending in .ardm needs -f); an ardmzip file is refused, "
            "-f or not.") in text
