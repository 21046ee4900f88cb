"""The command line through click's runner (in-process, so the tiny test model can stand in)."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ardmzip.cli import main
from ardmzip.header import FORMAT_VERSION
from ardmzip.registry import REGISTRY
from conftest import FIXTURES
from test_image_planes import photo


@pytest.fixture
def work(tmp_path, tiny_registry):
    for name in ("kodim23_crop48x40.png", "kodim05_crop17x33.png"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def same_pixels(a, b) -> bool:
    a, b = Image.open(a), Image.open(b)
    return a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ardmzip: ") and "Traceback" not in result.output
    return lines[0]


def test_compress_then_decompress(work):
    src = work / "kodim23_crop48x40.png"
    r = run("compress", "--budget", 4, "-v", src)
    assert r.exit_code == 0, r.output
    assert "bits/dim" in r.stderr
    assert src.exists() and (work / "kodim23_crop48x40.png.ardm").exists()
    r = run("decompress", work / "kodim23_crop48x40.png.ardm", "-o", work / "out.png")
    assert r.exit_code == 0, r.output
    assert same_pixels(work / "out.png", src)


def test_decompress_restores_name_and_needs_force(work):
    src = work / "kodim05_crop17x33.png"
    original = src.read_bytes()
    assert run("compress", "--budget", 3, src).exit_code == 0
    err = one_line_error(run("decompress", work / "kodim05_crop17x33.png.ardm"))
    assert "already exists" in err and "-f" in err
    assert src.read_bytes() == original  # not touched
    assert run("decompress", "-f", work / "kodim05_crop17x33.png.ardm").exit_code == 0
    assert same_pixels(src, FIXTURES / "kodim05_crop17x33.png")


def test_non_png_names_get_png_suffix(work):
    photo("RGB").save(work / "pic.bmp")
    assert run("compress", "--budget", 2, work / "pic.bmp").exit_code == 0
    assert run("decompress", work / "pic.bmp.ardm").exit_code == 0
    assert Image.open(work / "pic.bmp.png").format == "PNG"
    assert same_pixels(work / "pic.bmp.png", work / "pic.bmp")


def test_existing_compressed_output_needs_force(work):
    src = work / "kodim05_crop17x33.png"
    (work / "kodim05_crop17x33.png.ardm").write_bytes(b"keep me")
    one_line_error(run("compress", src))
    assert (work / "kodim05_crop17x33.png.ardm").read_bytes() == b"keep me"
    assert run("compress", "-f", "--budget", 2, src).exit_code == 0


def test_rm_removes_input_only_on_success(work):
    src = work / "kodim05_crop17x33.png"
    assert run("compress", "--rm", "--budget", 2, src).exit_code == 0
    assert not src.exists()
    assert run("decompress", "--rm", work / "kodim05_crop17x33.png.ardm").exit_code == 0
    assert not (work / "kodim05_crop17x33.png.ardm").exists()
    assert same_pixels(src, FIXTURES / "kodim05_crop17x33.png")


def test_stdin_and_stdout(work):
    raw = (work / "kodim05_crop17x33.png").read_bytes()
    r = run("compress", "--budget", 2, "-", input=raw)
    assert r.exit_code == 0 and r.stdout_bytes.startswith(b"ARZ")
    r2 = run("decompress", "-", input=r.stdout_bytes)
    assert r2.exit_code == 0
    (work / "back.png").write_bytes(r2.stdout_bytes)
    assert same_pixels(work / "back.png", FIXTURES / "kodim05_crop17x33.png")
    r3 = run("compress", "-c", "--budget", 2, work / "kodim05_crop17x33.png")
    assert r3.stdout_bytes == r.stdout_bytes
    assert not (work / "kodim05_crop17x33.png.ardm").exists()


def test_test_mode_writes_nothing(work):
    run("compress", "--budget", 2, work / "kodim05_crop17x33.png")
    before = sorted(p.name for p in work.iterdir())
    r = run("decompress", "-t", "-v", work / "kodim05_crop17x33.png.ardm")
    assert r.exit_code == 0 and "OK" in r.stderr
    assert sorted(p.name for p in work.iterdir()) == before


def test_corrupted_and_truncated_files(work):
    run("compress", "--budget", 2, work / "kodim23_crop48x40.png")
    f = work / "kodim23_crop48x40.png.ardm"
    data = f.read_bytes()
    f.write_bytes(data[:-7])
    assert "truncated" in one_line_error(run("decompress", "-t", f))
    bad = bytearray(data)
    bad[30] ^= 4
    f.write_bytes(bytes(bad))
    assert "corrupted" in one_line_error(run("decompress", "-o", work / "x.png", f))
    assert not (work / "x.png").exists()
    assert not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def test_bad_inputs_each_get_one_line(work):
    (work / "notes.txt").write_text("hello")
    assert "no such file" in one_line_error(run("compress", work / "missing.png"))
    assert "not a readable image" in one_line_error(run("compress", work / "notes.txt"))
    assert not (work / "notes.txt.ardm").exists()
    assert "is a directory" in one_line_error(run("compress", work))
    assert "unknown suffix" in one_line_error(run("decompress", work / "notes.txt"))
    assert "not an ardmzip file" in one_line_error(run("decompress", "-o", work / "o.png", work / "notes.txt"))
    assert "unknown model" in one_line_error(run("compress", "--model", "nope", work / "kodim05_crop17x33.png"))


def test_continues_past_a_bad_file(work):
    r = run("compress", "--budget", 2, work / "missing.png", work / "kodim05_crop17x33.png")
    assert r.exit_code == 1
    assert (work / "kodim05_crop17x33.png.ardm").exists()


def test_usage_errors_exit_2(work):
    assert run("compress", "-o", work / "x", work / "kodim05_crop17x33.png", work / "kodim23_crop48x40.png").exit_code == 2
    assert run("compress", "--budget", 0, work / "kodim05_crop17x33.png").exit_code == 2
    assert run("compress").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_info_models_version(work, tiny_model_entry):
    run("compress", "--budget", 5, work / "kodim23_crop48x40.png")
    r = run("info", work / "kodim23_crop48x40.png.ardm")
    assert r.exit_code == 0
    assert "48x40 RGB" in r.stdout and "model tiny" in r.stdout and "budget 5" in r.stdout
    assert "bits/dim" in r.stdout
    r = run("models")
    assert r.exit_code == 0 and "tiny" in r.stdout
    r = run("--version")
    assert r.exit_code == 0 and f"file format {FORMAT_VERSION}" in r.stdout


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1"])  # PNG has no PA mode
def test_every_mode_through_png_files(work, mode):
    src = work / f"img_{mode}.png"
    photo(mode).save(src)
    assert run("compress", "--budget", 3, src).exit_code == 0
    r = run("decompress", "-o", work / "back.png", work / f"img_{mode}.png.ardm")
    assert r.exit_code == 0, r.output
    assert same_pixels(work / "back.png", src)
    if mode in ("P", "PA"):
        assert Image.open(work / "back.png").getpalette() == Image.open(src).getpalette()


def test_lossy_input_gets_a_warning_but_is_kept_exactly(work):
    photo("RGB").save(work / "pic.jpg", quality=80)
    r = run("compress", "--budget", 2, work / "pic.jpg")
    assert r.exit_code == 0 and "lossy format" in r.stderr
    assert run("decompress", work / "pic.jpg.ardm").exit_code == 0
    assert same_pixels(work / "pic.jpg.png", work / "pic.jpg")
    assert "lossy" not in run("compress", "-q", "-f", "--budget", 2, work / "pic.jpg").stderr


def test_shell_completion_of_commands_and_models():
    import os
    import subprocess
    import sys

    def complete(words, cword):
        env = dict(os.environ, COMP_WORDS=words, COMP_CWORD=str(cword), _ARDMZIP_COMPLETE="bash_complete")
        code = "from ardmzip.cli import main; main(prog_name='ardmzip')"
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout

    assert "plain,decompress" in complete("ardmzip dec", 1)
    assert "plain,ardm-mix-c10" in complete("ardmzip compress --model ardm", 3)
    stem = REGISTRY.get().path.stem
    assert stem != REGISTRY.default and f"plain,{stem}" in complete(f"ardmzip compress --model {stem[:-1]}", 3)


def test_output_that_is_the_input_is_refused(work):
    src = work / "kodim05_crop17x33.png"
    original = src.read_bytes()
    assert "same file" in one_line_error(run("compress", "-f", "--rm", "-o", src, src))
    assert src.read_bytes() == original
    run("compress", "--budget", 2, src)
    packed = work / "kodim05_crop17x33.png.ardm"
    data = packed.read_bytes()
    assert "same file" in one_line_error(run("decompress", "-f", "--rm", "-o", packed, packed))
    assert packed.read_bytes() == data


@pytest.mark.parametrize("option,refused,allowed,says", [("--max-pixels", 560, 561, "17x33"),
                                                          ("--max-calls", 3, 4, "4 network calls")])
def test_limits_refuse_with_one_line(work, option, refused, allowed, says):
    src = work / "kodim05_crop17x33.png"  # 561 pixels, 4 network calls at budget 4
    assert option in one_line_error(run("compress", "--budget", 4, option, refused, src))
    assert not (work / "kodim05_crop17x33.png.ardm").exists()
    assert run("compress", "--budget", 4, src).exit_code == 0
    packed = work / "kodim05_crop17x33.png.ardm"
    err = one_line_error(run("decompress", option, refused, "-o", work / "o.png", packed))
    assert says in err and not (work / "o.png").exists()
    assert run("decompress", option, allowed, "-o", work / "o.png", packed).exit_code == 0


def test_folders_and_archives_take_the_call_limit(work):
    src = work / "kodim05_crop17x33.png"  # 4 network calls at budget 4
    assert "--max-calls" in one_line_error(run("compress", "--budget", 4, "--max-calls", 3, "--archive",
                                               work / "a.ardm", src))
    assert run("compress", "--budget", 4, "--archive", work / "a.ardm", src).exit_code == 0
    err = one_line_error(run("decompress", "--max-calls", 3, "-o", work / "out", work / "a.ardm"))
    assert "4 network calls" in err and not (work / "out").exists()
    (work / "a.ardm").unlink()
    r = run("compress", "-r", "--budget", 4, "--max-calls", 3, work)
    assert r.exit_code == 1 and "--max-calls" in r.stderr and not list(work.glob("*.ardm"))
    assert run("compress", "-r", "--budget", 4, work).exit_code == 0
    r = run("decompress", "-r", "-t", "--max-calls", 3, work)
    assert r.exit_code == 1 and r.stderr.count("4 network calls") == 2
    assert run("decompress", "-r", "-t", "--max-calls", 4, work).exit_code == 0


def test_model_file_by_path(work, tmp_path_factory):
    from tiny_model import tiny_entry

    model = tiny_entry(tmp_path_factory.mktemp("own"), seed=4, name="own").path
    src = work / "kodim05_crop17x33.png"
    assert run("compress", "--budget", 2, "--model", model, src).exit_code == 0
    packed = work / "kodim05_crop17x33.png.ardm"
    assert "--model" in one_line_error(run("decompress", "-t", packed))
    assert "model file" in run("info", packed).stdout
    assert run("decompress", "--model", model, "-o", work / "back.png", packed).exit_code == 0
    assert same_pixels(work / "back.png", src)


def test_search_option_single_files_and_trees(work):
    import ardmzip

    src = work / "kodim23_crop48x40.png"
    r = run("compress", "-q", "--budget", 3, "--search", 4, "-o", work / "s.ardm", src)
    assert r.exit_code == 0, r.output
    data = (work / "s.ardm").read_bytes()
    assert data == ardmzip.compress(src, budget=3, search=4)
    seed = ardmzip.inspect(data).order_seed
    assert seed != 0 and f"order seed {seed}," in run("info", work / "s.ardm").stdout
    assert run("decompress", "-q", "-o", work / "s.png", work / "s.ardm").exit_code == 0
    assert same_pixels(work / "s.png", src)
    (work / "s.ardm").unlink()
    (work / "s.png").unlink()
    assert run("compress", "-q", "-r", "--budget", 3, "--search", 4, work).exit_code == 0
    assert (work / "kodim23_crop48x40.png.ardm").read_bytes() == data
    r = run("compress", "--search", 2, "--archive", work / "a.ardma", src)
    assert r.exit_code == 2 and "--orders" in r.output
    assert run("compress", "--search", 0, src).exit_code == 2
