"""``ardmzip compress -r`` / ``decompress -r``: whole folder trees, in parallel worker processes.

Each file goes through the same steps as a single file on the command line (output names, -f,
--rm, atomic writes: the helpers in cli_files.py and api.py); this module walks the trees, spreads the
files over worker processes, shows one progress bar and sums up. A file that is not an image is
skipped with a message; a file that fails is reported and the rest go on; the exit status is 1 if
any failed. Two files that would write the same output both fail before any work is done (with -f
one would silently replace the other; with -j two workers could both pass the existence check).

Work goes to the workers in batches: files whose headers say they have one size (and, to decode,
one model and budget) travel together, so that each network call serves up to --batch images
(batches.py; every file is byte for byte the one coding it alone writes). Each file of a batch is
still read, checked and written on its own, with its own message.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, TypeVar

from PIL import Image, UnidentifiedImageError

from . import api, batches, processes
from .archive_format import is_archive
from .cli_files import (LOSSY_FORMATS, SUFFIX, Options, check_target, decompressed_name, finish, is_ardmzip,
                        new_folders, write_output)
from .cpus import idle_cores
from .errors import ArdmzipError

OK, SKIPPED, FAILED = "ok", "skipped", "failed"
T = TypeVar("T")


@dataclass(frozen=True)
class FolderConfig:
    decompress: bool
    opts: Options  # the command's (-f, --rm, -q/-v, --threads, --max-pixels), used as for one file
    jobs: int = 1
    out_dir: Path | None = None  # outputs under it, keeping paths relative to each root; else beside inputs
    model: str | None = None
    budget: int | None = None
    search: int = 1  # compress: generation orders tried per image
    test: bool = False  # decompress: verify only
    batch: int = batches.DEFAULT_BATCH  # same-size images coded together (at most; 1: one at a time)

    @property
    def threads(self) -> int:
        """Torch threads per worker: as asked, else the idle cores shared out among the workers, at least
        one each (results never depend on it)."""
        return self.opts.threads or max(1, idle_cores() // self.jobs)


@dataclass(frozen=True)
class Job:
    src: Path
    name: str  # shown in messages: the input's path, or with out_dir its path relative to its root
    target: Path | None  # None when only testing
    clash: str = ""  # why it cannot be done at all (another file writes the same output)


@dataclass
class Outcome:
    name: str
    status: str
    message: str = ""
    bytes_in: int = 0
    bytes_out: int = 0
    dims: int = 0
    notes: list[str] = field(default_factory=list)


def plan(roots: tuple[str, ...], cfg: FolderConfig) -> list[Job]:
    """Every file to work on under the roots (a root may also be a file), in sorted order.

    Compressing takes every file but .ardm files; decompressing only .ardm files. Symbolic links
    are not followed, as gzip -r does not.
    """
    jobs = []
    for root in roots:
        base = Path(root)
        if not base.exists():
            raise ArdmzipError(f"{root}: no such file or directory")
        files = [base] if base.is_file() else sorted(
            Path(d) / f for d, _, names in os.walk(base) for f in names)
        for src in files:
            if src.is_symlink() or src.name.endswith(".tmp") and src.name.startswith("."):
                continue
            if src.name.endswith(SUFFIX) != cfg.decompress:
                continue
            rel = src.relative_to(base) if base.is_dir() else Path(src.name)
            out = (cfg.out_dir / rel) if cfg.out_dir else src
            if cfg.decompress:
                target = None if cfg.test else decompressed_name(out)
            else:
                target = out.with_name(out.name + SUFFIX)
            jobs.append(Job(src, str(src if cfg.out_dir is None else rel), target))
    return _mark_clashes(jobs)


def _mark_clashes(jobs: list[Job]) -> list[Job]:
    """Jobs whose outputs are one file (two roots under one --out-dir; a.ardm and a.png.ardm) all fail."""
    by_target: dict[Path, list[Job]] = defaultdict(list)
    for job in jobs:
        if job.target is not None:
            by_target[job.target.resolve()].append(job)
    marked = []
    for job in jobs:
        others = [o.name for o in by_target[job.target.resolve()] if o is not job] if job.target else []
        marked.append(replace(job, clash=f"{job.target} would also be written from {', '.join(others)}; "
                                         "neither is written (rename one, or give each its own --out-dir)")
                      if others else job)
    return marked


def _read_image(job: Job, cfg: FolderConfig, out: Outcome) -> tuple[bytes, Any] | None:
    """The file's bytes and image, or None when it is not an image or already an ardmzip file (skipped)."""
    raw = job.src.read_bytes()
    if is_ardmzip(raw):  # not named .ardm, else plan() had left it out
        out.status, out.message = SKIPPED, "already an ardmzip file"
        return None
    try:
        Image.open(io.BytesIO(raw))  # identifies the format from its header only
    except UnidentifiedImageError:
        out.status, out.message = SKIPPED, "not an image"
        return None
    check_target(job.target, cfg.opts, str(job.src))
    image = api.open_image(io.BytesIO(raw), name=job.name, max_pixels=cfg.opts.max_pixels)
    if getattr(image, "format", None) in LOSSY_FORMATS:  # 16-bit RGB is an array, never lossy
        out.notes.append(f"warning: {job.name} is {image.format}, a lossy format: the .ardm file keeps its "
                         f"decoded pixels and will be larger")
    return raw, image


def _write_compressed(job: Job, cfg: FolderConfig, out: Outcome, raw: bytes, data: bytes) -> None:
    with new_folders() as make_folder:  # a failed or interrupted write leaves no empty folder
        make_folder(job.target.parent)
        write_output(data, job.target, cfg.opts)
    finish(str(job.src), cfg.opts)
    out.bytes_in, out.bytes_out, out.dims = len(raw), len(data), api.inspect(data).dims


def _read_ardm(job: Job, cfg: FolderConfig, out: Outcome) -> tuple[bytes, bytes] | None:
    """The file's bytes (twice, as the coder's input), or None for an archive (skipped)."""
    raw = job.src.read_bytes()
    if is_archive(raw):
        out.status, out.message = SKIPPED, f"an archive: extract it with ardmzip decompress {job.src} -o DIR"
        return None
    check_target(job.target, cfg.opts, str(job.src))
    return raw, raw


def _write_decompressed(job: Job, cfg: FolderConfig, out: Outcome, raw: bytes, image: Any) -> None:
    out.bytes_in, out.dims = len(raw), api.inspect(raw).dims
    if job.target is None:
        return
    png = api.encode_png(image)
    with new_folders() as make_folder:
        make_folder(job.target.parent)
        write_output(png, job.target, cfg.opts)
    finish(str(job.src), cfg.opts)
    out.bytes_out = len(png)


def _code(inputs: list, cfg: FolderConfig) -> list:
    """.ardm bytes or images for the inputs (or the exception each raised), coded in batches."""
    if cfg.decompress:
        return batches.decompress_many(inputs, threads=cfg.threads, model=Path(cfg.model) if cfg.model else None,
                                       max_pixels=cfg.opts.max_pixels, batch=cfg.batch, return_errors=True,
                                       max_calls=cfg.opts.max_calls)
    return batches.compress_many(inputs, model=cfg.model, budget=cfg.budget, threads=cfg.threads,
                                 max_pixels=cfg.opts.max_pixels, batch=cfg.batch, return_errors=True,
                                 max_calls=cfg.opts.max_calls, search=cfg.search)


def _guarded(job: Job, out: Outcome, step: Callable[[], T]) -> T | None:
    """One step of one file, never raising: whatever goes wrong becomes the outcome's one-line message."""
    try:
        return step()
    except ArdmzipError as e:
        msg = str(e)
        out.status, out.message = FAILED, msg[len(job.name) + 2:] if msg.startswith(job.name + ": ") else msg
    except OSError as e:
        out.status, out.message = FAILED, f"cannot read or write ({e.strerror or e})"
    except Exception as e:  # a bug of ours: still one line, and the other files go on
        out.status, out.message = FAILED, f"internal error: {e.__class__.__name__}: {e}"
    return None


def _raise_or(result: T) -> T:
    if isinstance(result, Exception):
        raise result
    return result


def work(jobs: list[Job], cfg: FolderConfig) -> list[Outcome]:
    """A batch of files, never raising: each read, checked and written on its own, those read well
    coded together; if coding them together fails, each is coded alone for its own outcome."""
    outs = [Outcome(job.name, OK) for job in jobs]
    read, write = (_read_ardm, _write_decompressed) if cfg.decompress else (_read_image, _write_compressed)
    inputs = [_guarded(job, out, lambda job=job, out=out: read(job, cfg, out)) for job, out in zip(jobs, outs)]
    ready = [k for k, (item, out) in enumerate(zip(inputs, outs)) if item is not None and out.status == OK]
    try:
        coded = _code([inputs[k][1] for k in ready], cfg)
    except Exception:
        coded = []
        for k in ready:
            try:
                coded.append(_code([inputs[k][1]], cfg)[0])
            except Exception as e:
                coded.append(e)
    for k, result in zip(ready, coded):
        _guarded(jobs[k], outs[k], lambda k=k, result=result: write(jobs[k], cfg, outs[k], inputs[k][0],
                                                                    _raise_or(result)))
    return outs


KEY_READ_LIMIT = 1 << 20  # larger .ardm files hold images too large to batch anyway


def _batch_key(job: Job, cfg: FolderConfig) -> tuple[tuple | None, int]:
    """What decides which files may share a batch, from their headers alone, and their pixels; files
    whose header cannot be read here go alone (their worker reports why). The workers group again by
    what they find when they read the files, so this only has to be a good guess."""
    try:
        if cfg.decompress:
            if job.src.stat().st_size > KEY_READ_LIMIT:
                return None, 0
            h = api.inspect(job.src.read_bytes())
            return (h.model_id, h.weights_tag, h.budget, h.precision, h.mode, h.width, h.height,
                    h.alpha_constant is None, h.bits, h.order_seed), h.width * h.height
        with Image.open(job.src) as im:
            return (im.mode, im.size), im.size[0] * im.size[1]
    except Exception:
        return None, 0


def tasks(jobs: list[Job], cfg: FolderConfig) -> list[list[Job]]:
    """The jobs in batches for the workers: same-size files together, split evenly among the workers."""
    if cfg.batch == 1 or not jobs:
        return [[job] for job in jobs]
    keys, pixels = zip(*(_batch_key(job, cfg) for job in jobs))
    return [[jobs[i] for i in members] for members in batches.batches(keys, pixels, cfg.batch, cfg.jobs)]


def _worker_init() -> None:
    """Ctrl-C is the parent's to handle; terminate() unwinds a worker, so a temporary file is removed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def _work_star(args: tuple[list[Job], FolderConfig]) -> list[Outcome]:
    return work(*args)


def run(jobs: list[Job], cfg: FolderConfig, report: Callable[[Outcome], None]) -> list[Outcome]:
    """All jobs, in batches, in up to cfg.jobs worker processes (in this process for one); report()
    sees each file as its batch ends. Each worker's thread budget counts the workers actually started."""
    outcomes = []
    todo = tasks(jobs, cfg)
    cfg = replace(cfg, jobs=max(1, min(cfg.jobs, len(todo))))
    if cfg.jobs == 1:
        for task in todo:
            for out in work(task, cfg):
                outcomes.append(out)
                report(out)
        return outcomes
    for outs in processes.imap_unordered(_work_star, [(task, cfg) for task in todo], cfg.jobs, _worker_init):
        for out in outs:
            outcomes.append(out)
            report(out)
    return outcomes


def summary(outcomes: list[Outcome], seconds: float, decompress: bool) -> str:
    """One line: files, bytes before and after, bits per dimension of the .ardm bytes, time."""
    done = [o for o in outcomes if o.status == OK]
    skipped = sum(o.status == SKIPPED for o in outcomes)
    failed = sum(o.status == FAILED for o in outcomes)
    before, after, dims = (sum(o.bytes_in for o in done), sum(o.bytes_out for o in done), sum(o.dims for o in done))
    coded = before if decompress else after
    verb = "decompressed" if decompress else "compressed"
    line = f"{len(done)} files {verb}, {skipped} skipped, {failed} failed"
    if done:
        line += f"; {before:,} -> {after:,} bytes" if after else f"; {before:,} bytes verified"
        line += f", {8 * coded / dims:.3f} bits/dim"
    return line + f"; {seconds:.1f} s"


def main(roots: tuple[str, ...], cfg: FolderConfig, progress: Callable[[int, int], None],
         say: Callable[[str], None], fail: Callable[[str], None]) -> int:
    """The whole -r command; returns the exit status. `progress(done, total)` draws the one bar."""
    t0 = time.perf_counter()
    jobs = plan(roots, cfg)
    done = 0

    def report(out: Outcome) -> None:
        nonlocal done
        done += 1
        for note in out.notes:
            say(f"ardmzip: {note}")
        if out.status == FAILED:
            fail(f"{out.name}: {out.message}")
        elif out.status == SKIPPED:
            say(f"ardmzip: {out.name}: skipped, {out.message}")
        elif cfg.opts.verbose:
            say(f"{out.name}: {out.bytes_in} -> {out.bytes_out} bytes")
        progress(done, len(jobs))

    outcomes = [Outcome(job.name, FAILED, job.clash) for job in jobs if job.clash]
    for out in outcomes:  # before any work, so no output of theirs is written
        report(out)
    outcomes += run([job for job in jobs if not job.clash], cfg, report)
    say(summary(outcomes, time.perf_counter() - t0, cfg.decompress))
    return 1 if any(o.status == FAILED for o in outcomes) else 0
