"""Interrupted runs, with real signals on real processes: Ctrl-C (SIGINT) and kill (SIGTERM) leave no
output and no temporary file, kill -9 (SIGKILL) no output but its hidden temporary file, and the
input is never touched; an archive is extracted all or nothing; -r -j stops its workers cleanly.

Each command runs with a sitecustomize hook that, in every process (worker processes too), pauses
while ardmzip writes its n-th temporary file (at its fsync, before the rename), when an output is
about to appear: the test sends its signal once every process it waits for has paused there.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from ardmzip.archive import compress_archive
from conftest import FIXTURES

HOOK = '''
import os, signal, time
_pause_dir = os.environ.get("ARDMZIP_TEST_PAUSE_DIR")
if _pause_dir:
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited SIG_IGN: restore
    # Ctrl-C as a terminal delivers it, so the test does not depend on how pytest itself was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _fsync, _calls = os.fsync, []

    def _paused_fsync(fd):
        _calls.append(fd)
        if len(_calls) == int(os.environ["ARDMZIP_TEST_PAUSE_AT"]):
            open(os.path.join(_pause_dir, str(os.getpid())), "w").close()
            time.sleep(120)
        return _fsync(fd)

    os.fsync = _paused_fsync
'''

def start(tmp_path: Path, *args, pause_at: int = 1) -> tuple[subprocess.Popen, Path]:
    hook, pauses = tmp_path / "hook", tmp_path / "pauses"
    hook.mkdir(exist_ok=True)
    pauses.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOOK)
    env = dict(os.environ, ARDMZIP_TEST_PAUSE_DIR=str(pauses), ARDMZIP_TEST_PAUSE_AT=str(pause_at),
               OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-c", "from ardmzip.cli import main; main()", *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE), pauses


def interrupt(proc: subprocess.Popen, pauses: Path, sig: int, paused: int = 1) -> tuple[int, str]:
    """Send sig once `paused` processes have paused; the exit status and stderr."""
    deadline = time.monotonic() + 180
    while len(list(pauses.iterdir())) < paused:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never reached its rename"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def work(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    Image.open(FIXTURES / "kodim05_crop17x33.png").crop((0, 0, 9, 7)).save(d / "a.png")
    return d


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_compress_leaves_nothing(tmp_path, work, sig):
    before = (work / "a.png").read_bytes()
    proc, pauses = start(tmp_path, "compress", "--budget", 2, work / "a.png")
    status, err = interrupt(proc, pauses, sig)
    assert status == 130 and err.strip() == "ardmzip: interrupted"
    assert files(work) == ["a.png"] and (work / "a.png").read_bytes() == before


def test_killed_compress_leaves_no_output_only_its_hidden_temporary_file(tmp_path, work):
    proc, pauses = start(tmp_path, "compress", "--budget", 2, work / "a.png")
    status, _ = interrupt(proc, pauses, signal.SIGKILL)
    assert status == -signal.SIGKILL
    left = [name for name in files(work) if name != "a.png"]
    assert len(left) == 1 and left[0].startswith(".a.png.ardm.") and left[0].endswith(".tmp")


def test_interrupted_archive_extraction_writes_no_image_and_keeps_old_files(tmp_path, work):
    images = [(name, Image.open(work / "a.png").crop(box)) for name, box in
              (("a.png", (0, 0, 5, 4)), ("dir/b.png", (1, 1, 8, 6)), ("c.png", (2, 0, 9, 7)))]
    archive = tmp_path / "set.ardm"
    archive.write_bytes(compress_archive(images, budget=2, orders=0))
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.png").write_bytes(b"an older file, kept unless every image is written")
    proc, pauses = start(tmp_path, "decompress", "-f", archive, "-o", out, pause_at=3)  # writing the last image
    status, err = interrupt(proc, pauses, signal.SIGINT)
    assert status == 130 and "interrupted" in err
    assert files(out) == ["c.png"] and (out / "c.png").read_bytes().startswith(b"an older file")


def test_killed_folder_run_stops_its_workers_and_leaves_nothing(tmp_path, work):
    Image.open(work / "a.png").rotate(90, expand=True).save(work / "b.png")
    proc, pauses = start(tmp_path, "compress", "-r", "-j", 2, "--budget", 2, work)
    status, _ = interrupt(proc, pauses, signal.SIGTERM, paused=2)
    assert status == 130
    assert files(work) == ["a.png", "b.png"]
    workers = [int(p.name) for p in pauses.iterdir()]
    time.sleep(0.5)
    for pid in workers:  # each worker has exited: kill(pid, 0) finds no such process
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
