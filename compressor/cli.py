"""The ``ardmzip`` command line, with gzip/zstd habits: inputs kept, never overwrite without -f."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Callable

import click
from click.core import ParameterSource

from . import api, archive_cli, cli_files, folders, model_file
from .archive import DEFAULT_MAX_TOTAL_PIXELS, DEFAULT_ORDERS, MAX_ORDERS
from .archive_format import is_archive
from .batches import DEFAULT_BATCH
from .cli_files import SUFFIX, LazyProgress, Options, read_input, say
from .cli_group import DefaultCommand, DefaultGroup
from .cli_one import compress_one, decompress_one
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


common = [
    click.option("-o", "--output", type=click.Path(), help="Output file (single input only); for an archive, "
                 "the folder to extract into."),
    click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output (not a terminal "
                 "unless -f)."),
    click.option("-f", "--force", is_flag=True, help="Overwrite existing output files; write binary data to a "
                 "terminal."),
    click.option("-k", "--keep", is_flag=True, help="Keep the input (the default; for gzip habits)."),
    click.option("--rm", "remove", is_flag=True, help="Remove the input after success (kept by default)."),
    click.option("-q", "--quiet", is_flag=True, help="No messages but errors."),
    click.option("-v", "--verbose", is_flag=True, help="Report sizes, bits/dim and time per file."),
    click.option("--threads", type=click.IntRange(min=1), help="Torch threads (default: the cores not busy with other work; results do not depend on it)."),
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


def _options(output, to_stdout, force, keep, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
             max_calls) -> Options:
    """The common options of a command, as cli_files.Options."""
    if keep and remove:
        raise click.UsageError("-k/--keep and --rm contradict each other")
    return Options(output, to_stdout, force, remove, quiet, verbose, threads, max_pixels, max_archive_pixels,
                   max_calls)


PLUGINS = "ardmzip.commands"  # entry points of commands other packages add: `bench`, from ardmzip.benchmarks


def _bare() -> list[str]:
    """No argument, as gzip: data piped in is compressed to standard output (`ardmzip -`); at a terminal,
    where nothing is piped in, the help."""
    return [] if cli_files.stdin_is_terminal() else ["-"]


@click.group(cls=DefaultGroup, plugins=PLUGINS, bare=_bare, context_settings={"help_option_names": ["-h", "--help"]},
             subcommand_metavar="[FILE]... | COMMAND [ARGS]...")
@click.version_option(
    None, "-V", "--version", package_name="ardmzip", prog_name="ardmzip",
    message=f"%(prog)s %(version)s (file format {FORMAT_VERSION}, model registry {REGISTRY_VERSION})")
def main() -> None:
    """Lossless image compression with learned generative models (ARDM + rANS).

    As gzip and zstd: 'ardmzip FILE...' compresses each file to FILE.ardm, or decompresses it if it ends
    in .ardm; -d decompresses them all, -z compresses them all, -c writes to standard output (never
    to a terminal without -f), inputs are kept. Before files named like a command, put '--'.
    """
    signal.signal(signal.SIGTERM, _terminated)


def _model_option(help: str):
    return click.option("--model", default=None, help=help, shell_complete=lambda ctx, param, incomplete: [
        n for n in REGISTRY.names() if n.startswith(incomplete)])


budget_option = click.option("--budget", type=click.IntRange(1, api.MAX_BUDGET), help="Network calls per image "
                             "plane: fewer is faster, more is smaller (an ARDM's knob; with no --model, the "
                             "default ARDM at any size).")
search_option = click.option("--search", type=click.IntRange(1, api.MAX_SEARCH), default=1, show_default=True,
                             help="Generation orders to try per image, keeping the smallest file: N times the "
                             "encoding time and calls (--max-calls counts one order's), decoding as fast (ARDM "
                             "models; a flow has nothing to search).")
test_option = click.option("-t", "--test", is_flag=True, help="Decode and verify only; write nothing.")


@main.command()
@click.argument("files", nargs=-1, required=True)
@with_common
@_model_option(f"Registered model (default: {REGISTRY.default}; see 'ardmzip models'), named too by its weights "
               "file (ardm-mix-c10-vN), or a .safetensors model file, which decompress then needs too.")
@budget_option
@search_option
@click.option("--archive", type=click.Path(dir_okay=False), help="Code all the images into this one archive "
              "(dataset mode: later images coded bits-back with their generation order as latent).")
@click.option("--orders", type=click.IntRange(0, MAX_ORDERS), default=DEFAULT_ORDERS, show_default=True,
              help="With --archive: generation orders weighed per image (more: smaller and slower; 0: no bits-back).")
def compress(files, recursive, jobs, out_dir, batch, model, budget, search, archive, orders, **common):
    """Compress images (PNG, BMP, TIFF, ...) to FILE.ardm, or all of them into one archive."""
    opts = _options(**common)
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
    _run_all(files, opts, lambda src, o: compress_one(src, o, model, budget, search))


@main.command()
@click.argument("files", nargs=-1, required=True)
@with_common
@test_option
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="The .safetensors model file the files were compressed with, if one was.")
def decompress(files, recursive, jobs, out_dir, batch, test, model, **common):
    """Decompress FILE.ardm to the exact original image (PNG); an archive to a folder (-o)."""
    opts = _options(**common)
    if recursive:
        _run_folders(files, opts, jobs, out_dir, decompress=True, model=model, test=test, batch=batch)
    _no_folder_options(jobs, out_dir)
    _run_all(files, opts, lambda src, o: decompress_one(src, o, test, model))


@click.command("ardmzip", cls=DefaultCommand)
@click.argument("files", nargs=-1)
@click.option("-d", "--decompress", "decompress_all", is_flag=True, help="Decompress every FILE, whatever its suffix.")
@click.option("-z", "--compress", "compress_all", is_flag=True,
              help="Compress every FILE (one ending in .ardm needs -f); an ardmzip file is refused, -f or not.")
@test_option
@with_common
@_model_option("Compressing: a registered model or a .safetensors model file; decompressing: the model file "
               "the files were compressed with, if one was.")
@budget_option
@search_option
def files_mode(files, decompress_all, compress_all, test, recursive, jobs, out_dir, batch, model, budget, search,
               **common):
    """Compress each FILE to FILE.ardm, or decompress it if it ends in .ardm; no FILE: standard input."""
    opts = _options(**common)
    ctx = click.get_current_context()
    decompress_all = decompress_all or test
    if decompress_all and compress_all:
        raise click.UsageError("-z/--compress goes with neither -d/--decompress nor -t/--test")
    if decompress_all and any(ctx.get_parameter_source(p) != ParameterSource.DEFAULT for p in ("budget", "search")):
        raise click.UsageError("--budget and --search go with compressing, not -d/--decompress or -t/--test")
    for name in files:
        if main.has_command(name) and not os.path.lexists(name):  # `ardmzip -q compress x.png`: options first
            raise click.UsageError(f"no such file: {name} (a command goes first: ardmzip {name} [OPTIONS] ...)")
    if not files:
        if cli_files.stdin_is_terminal() and not opts.force:
            raise click.UsageError("no FILE given and standard input is a terminal (give files, or pipe data in)")
        files = ("-",)
    model_path = model if model_file.is_model_file(model) else None  # a registered name is in the file already
    if recursive:  # as gzip -r: compress the trees' files, or with -d decompress their .ardm files
        _run_folders(files, opts, jobs, out_dir, decompress=decompress_all, model=model_path if decompress_all
                     else model, budget=budget, batch=batch, search=search, test=test)
    _no_folder_options(jobs, out_dir)

    def one(src: str, opts: Options) -> None:
        if decompress_all or not compress_all and src != "-" and src.endswith(SUFFIX):
            decompress_one(src, opts, test, model_path)
        else:
            compress_one(src, opts, model, budget, search)

    _run_all(files, opts, one)


main.default = files_mode


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
    click.echo(f"* the default{_size_rule()}; --model names another")


def _size_rule() -> str:
    if REGISTRY.default_above is None:
        return ""
    pixels, model = REGISTRY.default_above
    return (f" for images of up to {pixels:,} pixels and images with a grey, palette or alpha plane, {model} for "
            "larger colour ones")
