"""The ``ardmzip`` command line, with gzip/zstd habits: inputs kept, never overwrite without -f."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import click
from click.core import ParameterSource

from ardmzip.benchmarks.cli import bench

from . import api, archive_cli, folders
from .archive import DEFAULT_MAX_TOTAL_PIXELS, DEFAULT_ORDERS, MAX_ORDERS
from .archive_format import is_archive
from .batches import DEFAULT_BATCH
from .cli_files import (LOSSY_FORMATS, SUFFIX, LazyProgress, Options, check_target, decompressed_name, finish,
                        read_input, say, write_output)
from .errors import ArdmzipError
from .header import EXTERNAL_MODEL_ID, FORMAT_VERSION
from .registry import REGISTRY, REGISTRY_VERSION


def _fail(msg: str) -> None:
    click.echo(f"ardmzip: {msg}", err=True)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # `kill` unwinds as Ctrl-C does: temporary files removed, worker processes stopped


def _run_all(files: tuple[str, ...], opts: Options, one: Callable[[str, Options], None]) -> None:
    if opts.output and len(files) > 1:
        raise click.UsageError("-o/--output takes a single input file")
    if opts.stdout and len(files) > 1:
        raise click.UsageError("-c/--stdout takes a single input file")
    failed = 0
    for f in files:
        try:
            one(f, opts)
        except ArdmzipError as e:
            _fail(str(e))
            failed += 1
        except KeyboardInterrupt:
            _fail("interrupted")
            sys.exit(130)
        except Exception as e:  # a bug of ours: still one line, no traceback unless asked
            if os.environ.get("ARDMZIP_DEBUG"):
                raise
            _fail(f"{f}: internal error: {e.__class__.__name__}: {e}")
            failed += 1
    if failed:
        sys.exit(1)


def _target(src: str, opts: Options, default: Callable[[Path], Path]) -> Path | None:
    if opts.stdout or (src == "-" and not opts.output):
        return None
    return Path(opts.output) if opts.output else default(Path(src))


common = [
    click.option("-o", "--output", type=click.Path(), help="Output file (single input only); for an archive, "
                 "the folder to extract into."),
    click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output."),
    click.option("-f", "--force", is_flag=True, help="Overwrite existing output files."),
    click.option("--rm", "remove", is_flag=True, help="Remove the input after success (kept by default)."),
    click.option("-q", "--quiet", is_flag=True, help="No messages but errors."),
    click.option("-v", "--verbose", is_flag=True, help="Report sizes, bits/dim and time per file."),
    click.option("--threads", type=click.IntRange(min=1), help="Torch threads (results do not depend on it)."),
    click.option("--max-pixels", type=click.IntRange(1, api.MAX_PIXELS), default=api.DEFAULT_MAX_PIXELS,
                 show_default=True, help="Refuse larger images (guards memory against decompression bombs)."),
    click.option("--max-archive-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_TOTAL_PIXELS,
                 show_default=True, help="Refuse archives of more pixels in all (decoding holds every image)."),
    click.option("--max-calls", type=click.IntRange(min=1), default=api.DEFAULT_MAX_CALLS, show_default=True,
                 help="Refuse images that take more network calls (a file's budget sets them; guards time)."),
    click.option("-r", "--recursive", is_flag=True, help="Work on every file in the folders given, recursively."),
    click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                 help="With -r: worker processes (torch threads shared out among them unless --threads)."),
    click.option("--out-dir", type=click.Path(file_okay=False), help="With -r: write outputs under this "
                 "folder, keeping paths relative to each folder given (default: beside the inputs)."),
    click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
                 help="With -r: code up to N images of one size together (at most 2^16 pixels); speed only, "
                 "never the output."),
]


def _run_folders(roots: tuple[str, ...], opts: Options, jobs: int, out_dir: str | None, **config) -> None:
    """-r: whole trees, in worker processes, one progress bar and a summary (folders.py)."""
    if opts.output or opts.stdout:
        raise click.UsageError("-r writes beside the inputs or under --out-dir, not to -o/-c")
    progress = LazyProgress("ardmzip", enabled=not opts.quiet)
    cfg = folders.FolderConfig(opts=opts, jobs=jobs, out_dir=Path(out_dir) if out_dir else None, **config)
    try:
        status = folders.main(roots, cfg, progress, lambda msg: say(opts, msg), _fail)
    except ArdmzipError as e:
        _fail(str(e))
        status = 1
    except KeyboardInterrupt:
        _fail("interrupted")
        status = 130
    finally:
        progress.close()
    sys.exit(status)


def _no_folder_options(jobs: int, out_dir: str | None) -> None:
    batch = click.get_current_context().get_parameter_source("batch") != ParameterSource.DEFAULT
    if jobs > 1 or out_dir or batch:
        raise click.UsageError("-j/--jobs, --out-dir and --batch go with -r")


def with_common(f):
    for opt in reversed(common):
        f = opt(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    version=None, package_name="ardmzip",
    message=f"%(prog)s %(version)s (file format {FORMAT_VERSION}, model registry {REGISTRY_VERSION})")
def main() -> None:
    """Lossless image compression with learned generative models (ARDM + rANS)."""
    signal.signal(signal.SIGTERM, _terminated)


@main.command()
@click.argument("files", nargs=-1, required=True)
@with_common
@click.option("--model", default=None, help=f"Registered model (default: {REGISTRY.default}; see 'ardmzip models'), "
              "named too by its weights file (ardm-mix-c10-vN), or a .safetensors model file, which "
              "decompress then needs too.",
              shell_complete=lambda ctx, param, incomplete: [n for n in REGISTRY.names() if n.startswith(incomplete)])
@click.option("--budget", type=click.IntRange(1, api.MAX_BUDGET), help="Network calls per image plane: "
              "fewer is faster, more is smaller.")
@click.option("--search", type=click.IntRange(1, api.MAX_SEARCH), default=1, show_default=True,
              help="Generation orders to try per image, keeping the smallest file: N times the encoding "
              "time and calls (--max-calls counts one order's), decoding as fast (ARDM models; a flow has "
              "nothing to search).")
@click.option("--archive", type=click.Path(dir_okay=False), help="Code all the images into this one archive "
              "(dataset mode: later images coded bits-back with their generation order as latent).")
@click.option("--orders", type=click.IntRange(0, MAX_ORDERS), default=DEFAULT_ORDERS, show_default=True,
              help="With --archive: generation orders weighed per image (more: smaller and slower; 0: no bits-back).")
def compress(files, output, to_stdout, force, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
             max_calls, recursive, jobs, out_dir, batch, model, budget, search, archive, orders):
    """Compress images (PNG, BMP, TIFF, ...) to FILE.ardm, or all of them into one archive."""
    opts = Options(output, to_stdout, force, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
                   max_calls)
    if not archive and click.get_current_context().get_parameter_source("orders") != ParameterSource.DEFAULT:
        raise click.UsageError("--orders goes with --archive")
    if archive and search != 1:
        raise click.UsageError("--search codes single files; an archive weighs orders with --orders")
    if archive:
        if recursive:
            raise click.UsageError("--archive takes files, not -r")
        _no_folder_options(jobs, out_dir)
        _run_all((archive,), opts, lambda _, o: archive_cli.create(files, archive, o, model, budget, orders))
        return
    if recursive:
        _run_folders(files, opts, jobs, out_dir, decompress=False, model=model, budget=budget, batch=batch,
                     search=search)
    _no_folder_options(jobs, out_dir)

    def one(src: str, opts: Options) -> None:
        raw = read_input(src)
        target = _target(src, opts, lambda p: p.with_name(p.name + SUFFIX))
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
            data = api.compress(image, model=model, budget=budget, threads=opts.threads, progress=progress,
                                max_pixels=opts.max_pixels, max_calls=opts.max_calls, search=search)
        finally:
            progress.close()
        write_output(data, target, opts)
        finish(src, opts)
        if opts.verbose:
            dims = api.inspect(data).dims
            say(opts, f"{src}: {len(raw)} -> {len(data)} bytes, {8 * len(data) / dims:.3f} bits/dim, "
                      f"{time.perf_counter() - t0:.2f} s")

    _run_all(files, opts, one)


@main.command()
@click.argument("files", nargs=-1, required=True)
@with_common
@click.option("-t", "--test", is_flag=True, help="Decode and verify only; write nothing.")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="The .safetensors model file the files were compressed with, if one was.")
def decompress(files, output, to_stdout, force, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
               max_calls, recursive, jobs, out_dir, batch, test, model):
    """Decompress FILE.ardm to the exact original image (PNG); an archive to a folder (-o)."""
    opts = Options(output, to_stdout, force, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
                   max_calls)
    if recursive:
        _run_folders(files, opts, jobs, out_dir, decompress=True, model=model, test=test, batch=batch)
    _no_folder_options(jobs, out_dir)

    def one(src: str, opts: Options) -> None:
        raw = read_input(src)
        if is_archive(raw):
            return archive_cli.extract(src, raw, opts, test, model)
        if not test and not opts.output and src != "-" and not opts.stdout and not src.endswith(SUFFIX):
            raise ArdmzipError(f"{src}: unknown suffix -- ignored (expected {SUFFIX}, or give -o)")
        target = None if test else _target(src, opts, decompressed_name)
        check_target(target, opts, src)
        progress = LazyProgress(f"decompressing {src}", enabled=not opts.quiet)
        t0 = time.perf_counter()
        try:
            image = api.decompress(raw, threads=opts.threads, progress=progress,
                                   model=Path(model) if model else None, max_pixels=opts.max_pixels,
                                   max_calls=opts.max_calls)
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

    _run_all(files, opts, one)


@main.command()
@click.argument("files", nargs=-1, required=True)
def info(files):
    """Show the header of .ardm files."""
    failed = False
    for src in files:
        try:
            raw = read_input(src)
            if is_archive(raw):
                click.echo(archive_cli.describe(src, raw))
                continue
            h = api.inspect(raw)
        except ArdmzipError as e:
            _fail(str(e) if str(e).startswith(src) else f"{src}: {e}")
            failed = True
            continue
        try:
            model = "file" if h.model_id == EXTERNAL_MODEL_ID else REGISTRY.by_id(h.model_id).name
        except ArdmzipError:
            model = f"unknown (number {h.model_id})"
        click.echo(f"{src}: {h.width}x{h.height} {h.mode}{' 16-bit' if h.bits == 16 else ''}, model {model} "
                   f"(weights {h.weights_tag.hex()}), "
                   f"budget {h.budget}{f', order seed {h.order_seed}' if h.order_seed else ''}, "
                   f"precision {h.precision}, format {h.version}, "
                   f"{len(raw)} bytes, {8 * len(raw) / h.dims:.3f} bits/dim"
                   f"{', ICC profile' if h.icc else ''}")
    if failed:
        sys.exit(1)


@main.command()
def models():
    """List the registered models."""
    width = max(len(name) for name in REGISTRY.entries)
    for e in REGISTRY.entries.values():
        mark = "*" if e.name == REGISTRY.default else " "
        present = "" if e.path.is_file() else " [weights missing]"
        click.echo(f"{mark} {e.name:<{width}}  number {e.model_id:<2}  budget {e.default_budget:<4} "
                   f"sha256 {e.sha256[:12]}  {e.description}{present}")


main.add_command(bench)  # `ardmzip bench ...`, the same command as `python -m ardmzip.benchmarks`
