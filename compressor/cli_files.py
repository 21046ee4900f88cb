"""The command line's file habits, shared by single files (cli.py), archives (archive_cli.py) and -r (folders.py).

As gzip and zstd: inputs kept unless --rm, nothing overwritten without -f, an input never its own
output, every output written atomically (temporary file and rename), errors as one line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import click

from . import api
from .archive import DEFAULT_MAX_TOTAL_PIXELS
from .archive_format import extracted_name, is_archive
from .cpus import idle_cores
from .errors import ArdmzipError
from .header import MAGIC

SUFFIX = ".ardm"
LOSSY_FORMATS = ("JPEG", "MPO")


@dataclass
class Options:
    output: str | None
    stdout: bool
    force: bool
    remove: bool
    quiet: bool
    verbose: bool
    threads: int | None
    max_pixels: int
    max_archive_pixels: int = DEFAULT_MAX_TOTAL_PIXELS  # an archive's pixels in all
    max_calls: int = api.DEFAULT_MAX_CALLS  # network calls per image

    @property
    def torch_threads(self) -> int:
        """Threads for one file's coding: as asked, else the cores not busy with other work."""
        return self.threads or idle_cores()


class LazyProgress:
    """A progress bar on stderr (a terminal) that appears once the work has taken more than a second."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.bar = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.start < 1.0:
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def say(opts: Options, msg: str) -> None:
    if not opts.quiet:
        click.echo(msg, err=True)


def decompressed_name(src: Path) -> Path:
    """photo.png.ardm -> photo.png; other.jpg.ardm -> other.jpg.png (the output is always PNG)."""
    return src.with_name(extracted_name(src.with_suffix("").name))


def read_input(name: str, verb: str | None = None) -> bytes:
    """The bytes of a file or of standard input ("-"); `verb` (compress, decompress) names what -r would
    do with a folder, for the hint when one is given without it."""
    if name == "-":
        return sys.stdin.buffer.read()
    p = Path(name)
    if not p.exists():
        raise ArdmzipError(f"{name}: no such file")
    if p.is_dir():
        raise ArdmzipError(f"{name}: is a directory{f' (use -r to {verb} a folder)' if verb else ''}")
    try:
        return p.read_bytes()
    except OSError as e:
        raise ArdmzipError(f"{name}: cannot read ({e.strerror})") from None


def is_ardmzip(raw: bytes) -> bool:
    """A single-image file or an archive, whatever its name."""
    return raw.startswith(MAGIC) or is_archive(raw)


def refuse_ardmzip(src: str, raw: bytes) -> None:
    """Compressing an ardmzip file would decode it (Pillow reads them) only to code its pixels again: slow,
    and pointless, so it is refused whatever its name and -f (decompress it first to recode it)."""
    if is_ardmzip(raw):
        raise ArdmzipError(f"{'standard input' if src == '-' else src} is already an ardmzip file -- "
                           "not compressed again")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def check_terminal(opts: Options, what: str) -> None:
    """As gzip: binary output is not written to a terminal, where it garbles the screen, unless -f."""
    if not opts.force and stdout_is_terminal():
        raise ArdmzipError(f"{what} not written to a terminal. Use -f to force")


def write_output(data: bytes, target: Path | None, opts: Options) -> None:
    """target None means stdout."""
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    check_target(target, opts)
    with _cannot_write(target):
        api.atomic_write(target, data)


def write_outputs(outputs: Iterable[tuple[bytes, Path]], opts: Options) -> None:
    """Several outputs, all or none: each goes to a temporary file first, and they are renamed onto
    their targets only once all are written, so an error or Ctrl-C meanwhile leaves none of them."""
    pending: list[tuple[Path, Path]] = []
    try:
        for data, target in outputs:
            check_target(target, opts)
            with _cannot_write(target):
                pending.append((api.temporary_copy(target, data), target))
        while pending:
            tmp, target = pending[0]
            with _cannot_write(target):
                os.replace(tmp, target)
            pending.pop(0)
    finally:
        for tmp, _ in pending:
            api.remove_quietly(tmp)


@contextlib.contextmanager
def new_folders() -> Iterator[Callable[[Path], None]]:
    """A function that makes a folder and its missing parents for outputs; if the block then fails or is
    interrupted, each folder it made is removed again if empty, deepest first. A folder that was there
    before (or that another worker made meanwhile) is never removed, nor one something was put in."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        for f in reversed([folder, *folder.parents]):
            if f.is_dir():
                continue
            try:
                f.mkdir()
            except FileExistsError:  # made meanwhile by another worker
                continue
            except OSError as e:
                raise ArdmzipError(f"{folder}: cannot create folder ({e.strerror})") from None
            made.append(f)

    try:
        yield make
    except BaseException:
        for f in reversed(made):
            with contextlib.suppress(OSError):
                f.rmdir()
        raise


@contextlib.contextmanager
def _cannot_write(target: Path) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise ArdmzipError(f"{target}: cannot write ({e.strerror})") from None


def same_file(src: str, target: Path) -> bool:
    """The input is the output: the same path, or the same existing file by another path or a link."""
    if src == "-":
        return False
    if Path(src).resolve() == target.resolve():
        return True
    try:
        return os.path.samefile(src, target)
    except OSError:  # one of them does not exist
        return False


def check_target(target: Path | None, opts: Options, src: str | None = None) -> None:
    """Checked before the work starts, and again just before writing."""
    if target is None:
        return
    if src is not None and same_file(src, target):
        raise ArdmzipError(f"{src}: input and output are the same file")
    if target.exists() and not opts.force:
        raise ArdmzipError(f"{target} already exists; use -f to overwrite")


def finish(src: str, opts: Options) -> None:
    if opts.remove and src != "-" and not opts.stdout:
        os.unlink(src)
