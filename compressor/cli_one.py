"""One file's work on the command line: compress it, or decompress it (an archive to a folder).

The commands (cli.py) run these per file through their own loop; the file habits they follow
(names, -f, -c, --rm, atomic writes) are cli_files.py's.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Callable

from . import api, archive_cli
from .archive_format import is_archive
from .cli_files import (LOSSY_FORMATS, SUFFIX, LazyProgress, Options, check_target, check_terminal, decompressed_name,
                        finish, read_input, refuse_ardmzip, say, write_output)
from .errors import ArdmzipError


def _to_stdout(src: str, opts: Options) -> bool:
    return opts.stdout or (src == "-" and not opts.output)


def _target(src: str, opts: Options, default: Callable[[Path], Path]) -> Path | None:
    """Where the output goes: None for standard output."""
    return None if _to_stdout(src, opts) else Path(opts.output) if opts.output else default(Path(src))


def compress_one(src: str, opts: Options, model: str | None, budget: int | None, search: int) -> None:
    """One file (or standard input) to FILE.ardm, -o or standard output."""
    if _to_stdout(src, opts):
        check_terminal(opts, "compressed data")
    target = _target(src, opts, lambda p: p.with_name(p.name + SUFFIX))
    raw = read_input(src, "compress")
    refuse_ardmzip(src, raw)
    if src != "-" and src.endswith(SUFFIX) and not opts.force:
        raise ArdmzipError(f"{src} already has the {SUFFIX} suffix -- skipped (use -f to compress anyway)")
    check_target(target, opts, src)
    progress = LazyProgress(f"compressing {src}", enabled=not opts.quiet)
    t0 = time.perf_counter()
    image = api.open_image(io.BytesIO(raw), name=src, max_pixels=opts.max_pixels)
    if getattr(image, "format", None) in LOSSY_FORMATS:  # 16-bit RGB is an array, never lossy
        say(opts, f"ardmzip: warning: {src} is {image.format}, a lossy format: the .ardm file keeps its decoded "
                  f"pixels exactly and will be larger than the {image.format} file")
    try:
        data = api.compress(image, model=model, budget=budget, threads=opts.torch_threads, progress=progress,
                            max_pixels=opts.max_pixels, max_calls=opts.max_calls, search=search)
    finally:
        progress.close()
    write_output(data, target, opts)
    finish(src, opts)
    if opts.verbose:
        dims = api.inspect(data).dims
        say(opts, f"{src}: {len(raw)} -> {len(data)} bytes, {8 * len(data) / dims:.3f} bits/dim, "
                  f"{time.perf_counter() - t0:.2f} s")


def decompress_one(src: str, opts: Options, test: bool, model: str | None) -> None:
    """One .ardm file (or standard input) to the PNG image, -o or standard output; an archive to a folder."""
    if not test and _to_stdout(src, opts):
        check_terminal(opts, "decompressed image (PNG)")
    raw = read_input(src, "decompress")
    if is_archive(raw):
        return archive_cli.extract(src, raw, opts, test, model)
    if not test and not opts.output and src != "-" and not opts.stdout and not src.endswith(SUFFIX):
        raise ArdmzipError(f"{src}: unknown suffix -- ignored (expected {SUFFIX}, or give -o)")
    target = None if test else _target(src, opts, decompressed_name)
    check_target(target, opts, src)
    progress = LazyProgress(f"decompressing {src}", enabled=not opts.quiet)
    t0 = time.perf_counter()
    try:
        image = api.decompress(raw, threads=opts.torch_threads, progress=progress, model=Path(model) if model else None,
                               max_pixels=opts.max_pixels, max_calls=opts.max_calls)
    except ArdmzipError as e:
        raise ArdmzipError(f"{src}: {e}") from None
    finally:
        progress.close()
    if test:
        if opts.verbose:
            say(opts, f"{src}: OK")
        return
    write_output(api.encode_png(image), target, opts)
    finish(src, opts)
    if opts.verbose:
        h = api.inspect(raw)
        say(opts, f"{src}: {h.width}x{h.height} {h.mode}{' 16-bit' if h.bits == 16 else ''}, "
                  f"{time.perf_counter() - t0:.2f} s")
