"""``ardmzip compress --archive SET.ardm FILE...`` and ``ardmzip decompress SET.ardm -o DIR``.

The command-line side of dataset mode (archive.py): the same habits as single files (inputs kept
unless --rm, nothing overwritten without -f, every output written atomically, one-line errors).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Iterator

from . import api
from .archive import encode_archive, decompress_archive, inspect_archive
from .archive_format import check_names, extracted_name
from .cli_files import (SUFFIX, LazyProgress, Options, check_target, new_folders, read_input, refuse_ardmzip,
                        same_file, say, write_output, write_outputs)
from .errors import ArdmzipError
from .header import EXTERNAL_MODEL_ID
from .registry import REGISTRY

def create(files: tuple[str, ...], archive: str, opts: Options, model: str | None, budget: int | None,
           orders: int) -> None:
    """Code every file into one archive; an image is named by its file name, which must be unique."""
    if opts.output or opts.stdout:
        raise ArdmzipError("--archive names the output; -o/-c do not go with it")
    if "-" in files:
        raise ArdmzipError("an archive is made of files; standard input cannot go into one")
    target = Path(archive)
    for src in files:
        if same_file(src, target):  # with --rm, the archive itself would then be removed
            raise ArdmzipError(f"{src}: input and output are the same file")
    check_target(target, opts)
    for src in files:
        refuse_ardmzip(src, read_input(src))  # as single files: missing, a folder, unreadable, an .ardm file
    t0 = time.perf_counter()
    progress = LazyProgress(f"compressing {len(files)} images into {archive}", enabled=not opts.quiet)
    try:
        encoded = encode_archive([(Path(src).name, src) for src in files], model=model, budget=budget,
                                 orders=orders, threads=opts.torch_threads, progress=progress, max_pixels=opts.max_pixels,
                                 max_total_pixels=opts.max_archive_pixels, max_calls=opts.max_calls)
    finally:
        progress.close()
    write_output(encoded.data, target, opts)
    if opts.remove:
        for src in files:
            if not same_file(src, target):
                os.unlink(src)
    if opts.verbose:
        dims = sum(c.dims for c in encoded.costs)
        first = sum(1 for c in encoded.costs if not c.order_latent)
        say(opts, f"{archive}: {len(files)} images, {len(encoded.data)} bytes, "
                  f"{8 * len(encoded.data) / dims:.3f} bits/dim, {first} coded with the fixed order "
                  f"(the initial bits), {time.perf_counter() - t0:.2f} s")


@contextlib.contextmanager
def _named(src: str) -> Iterator[None]:
    """Every error line names the archive it is about."""
    try:
        yield
    except ArdmzipError as e:
        raise e if str(e).startswith(f"{src}: ") else type(e)(f"{src}: {e}") from None


def extract(src: str, raw: bytes, opts: Options, test: bool, model: str | None) -> None:
    """Decode every image of an archive into -o DIR (default: the archive's name less .ardm) as PNG."""
    if opts.stdout:
        raise ArdmzipError(f"{src}: an archive holds several images; give a folder with -o, not -c")
    with _named(src):
        head = inspect_archive(raw)
        if not test:
            check_names(e.name for e in head.entries)  # distinct files, none where another needs a folder
    if opts.output:
        folder = Path(opts.output)
    elif src != "-" and src.endswith(SUFFIX):
        folder = Path(src[:-len(SUFFIX)])
    else:
        raise ArdmzipError(f"{src}: give the folder to extract the archive into with -o")
    targets = [folder / extracted_name(e.name) for e in head.entries]
    if not test:
        for t in targets:
            for parent in reversed(t.relative_to(folder).parents):
                if (folder / parent).exists() and not (folder / parent).is_dir():
                    raise ArdmzipError(f"{folder / parent} exists and is not a folder")
            check_target(t, opts)
    t0 = time.perf_counter()
    progress = LazyProgress(f"decompressing {src}", enabled=not opts.quiet)
    try:
        with _named(src):
            images = decompress_archive(raw, threads=opts.torch_threads, progress=progress,
                                        model=Path(model) if model else None, max_pixels=opts.max_pixels,
                                        max_total_pixels=opts.max_archive_pixels, max_calls=opts.max_calls)
    finally:
        progress.close()
    if not test:
        with new_folders() as make_folder:  # all or none: Ctrl-C or an error leaves no image nor folder of its own
            write_outputs(_pngs(targets, images, make_folder), opts)
        if opts.remove and src != "-":
            os.unlink(src)
    if opts.verbose:
        say(opts, f"{src}: {len(images)} images {'OK' if test else f'into {folder}'}, "
                  f"{time.perf_counter() - t0:.2f} s")


def _pngs(targets: list[Path], images: list, make_folder: Callable[[Path], None]) -> Iterator[tuple[bytes, Path]]:
    for target, (_, image) in zip(targets, images):
        make_folder(target.parent)
        yield api.encode_png(image), target


def describe(src: str, raw: bytes) -> str:
    """`ardmzip info` of an archive: its header, then one line per image."""
    head = inspect_archive(raw)
    try:
        model = "file" if head.model_id == EXTERNAL_MODEL_ID else REGISTRY.by_id(head.model_id).name
    except ArdmzipError:
        model = f"unknown (number {head.model_id})"
    latent = sum(e.order_latent for e in head.entries)
    lines = [f"{src}: archive of {len(head.entries)} images, model {model} (weights {head.weights_tag.hex()}), "
             f"budget {head.budget}, precision {head.precision}, {head.orders} orders, archive format "
             f"{head.version}, {len(raw)} bytes, {8 * len(raw) / head.dims:.3f} bits/dim, {latent} coded bits-back"]
    lines += [f"  {e.name}: {e.width}x{e.height} {e.mode}{', bits-back' if e.order_latent else ''}"
              for e in head.entries]
    return "\n".join(lines)
