"""Long decoder fuzzing over every kind of file ardmzip writes: ``python -m ardmzip.fuzz --cpu-seconds 600``.

Damages valid files (fuzz_corpus.py: 8-bit and 16-bit single images, archives with and without
bits-back orders, discrete-flow, depth-upscaling and label-map files, files of a model given by path,
files of a searched generation order)
the ways disks, networks and forgers do (fuzz_damage.py). Each case is decoded as the CLI does
(decode, then PNG; half the single images in a batch with their valid file, as ``decompress -r``
does) under a time limit. It passes with the original pixels or an ArdmzipError; another exception, a
timeout, other pixels, an unsafe image name or a batch mate not decoded exactly fail it. Fields that only the file checksum covers (size
at the same pixel count, mode, ICC profile, colour key, an archive's names) may follow a forged
checksum: outcome "forged-fields". Runs are reproducible from --seed and --kinds (one case alone:
--first N --cases 1). Needs SIGALRM (Linux, macOS). Exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import api
from .archive import decompress_archive
from .archive_format import check_name, is_archive
from .batches import decompress_many
from .errors import ArdmzipError
from .fuzz_corpus import KINDS, Decoded, FuzzModels, Valid, build
from .fuzz_damage import FORGED, PLAIN, mutate
from .image_planes import split_image

PASS = ("refused", "exact", "forged-fields")


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the decoder can swallow it."""


@dataclass(frozen=True)
class Limits:
    """The decoder's limits in a run: a few times the corpus's largest, so forged sizes stay cheap to decode."""

    pixels: int
    total_pixels: int

    @classmethod
    def around(cls, corpus: list[Valid]) -> Limits:
        totals = [sum(_size(im) for _, im in v.images) for v in corpus]
        return cls(4 * max(_size(im) for v in corpus for _, im in v.images), 4 * max(totals))


def _size(image: Decoded) -> int:
    return int(np.prod(image.shape[:2])) if isinstance(image, np.ndarray) else image.width * image.height


def _pixels(image: Decoded) -> tuple:
    """What the pixel checksums cover: the decoder must never get it wrong."""
    parts = split_image(image)
    low = parts.low.tobytes() if parts.low is not None else None
    return [p.tobytes() for p in parts.planes], parts.palette, parts.alpha_constant, low, parts.offset, parts.shift


def _fields(image: Decoded) -> tuple:
    """What only the file checksum covers."""
    parts = split_image(image)
    return parts.width, parts.height, parts.mode, parts.icc, parts.colour_key, parts.bits


class BatchMateHarmed(Exception):
    """A valid file decoded in one batch with a damaged one did not come back exactly."""


def decode(data: bytes, model: Path | None, limits: Limits, mate: Valid | None = None
           ) -> list[tuple[str | None, Decoded]]:
    """(name, image) pairs, as the CLI gets them: an archive's images or a file's one, then PNG bytes.

    With a mate (a valid single-image file), both are decoded in one batch, as ``decompress -r`` does
    (batches.decompress_many); the mate must come back exactly, whatever the other file holds."""
    if is_archive(data):
        out = decompress_archive(data, model=model, max_pixels=limits.pixels, max_total_pixels=limits.total_pixels)
    elif mate is None:
        out = [(None, api.decompress(data, model=model, max_pixels=limits.pixels))]
    else:
        try:
            got, back = decompress_many([data, mate.data], model=model, max_pixels=limits.pixels, return_errors=True)
        except ArdmzipError as e:  # with return_errors, one file's error must stay with that file
            raise BatchMateHarmed(f"the batch raised {e!r}") from None
        if isinstance(back, ArdmzipError) or not _same(back, mate.images[0][1]):
            raise BatchMateHarmed(f"the valid file in the batch gave {back!r}")
        if isinstance(got, ArdmzipError):
            raise got
        out = [(None, got)]
    for _, image in out:
        api.encode_png(image)
    return out


def _same(got: Decoded, want: Decoded) -> bool:
    return _pixels(got) == _pixels(want) and _fields(got) == _fields(want)


def check(data: bytes, valid: Valid, forged: bool, limits: Limits, batched: bool = False) -> str:
    """The outcome of decoding one case (in a batch with `valid` when batched); a name outside PASS is a failure."""
    try:
        got = decode(data, valid.model, limits, valid if batched else None)
    except ArdmzipError:
        return "refused"
    except Exception as e:  # the finding this tool exists for
        return f"crash ({e.__class__.__name__}: {e})"
    for name, _ in got:
        if name is not None:
            try:
                check_name(name)
            except ArdmzipError:
                return f"UNSAFE NAME {name!r}"
    want = valid.images
    if len(got) != len(want) or any(_pixels(g) != _pixels(w) for (_, g), (_, w) in zip(got, want)):
        return "WRONG PIXELS"
    if all(gn == wn and _fields(g) == _fields(w) for (gn, g), (wn, w) in zip(got, want)):
        return "exact"
    return "forged-fields" if forged else "OTHER HEADER FIELDS WITHOUT A FORGED CHECKSUM"


def _with_alarm(seconds: float, work: Callable[[], str]) -> str:
    def ring(signum, frame):
        raise CaseTimeout

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return work()
    except CaseTimeout:
        return f"timeout (over {seconds:g} s)"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run(cases: int, seconds: float, seed: int = 0, first: int = 0, case_limit: float = 120.0, budget: int = 3,
        kinds: tuple[str, ...] = KINDS, models: FuzzModels | None = None,
        report: Callable[[str], None] = print, cpu_seconds: float = float("inf")) -> Counter:
    """Fuzz until `cases` cases, `seconds` of wall time or `cpu_seconds` of this process's CPU time have
    passed (on a shared machine the CPU time is the fair measure); counts (file kind, damage, outcome,
    "alone" or "batch"), failures reported as they come. Half the single-image cases are decoded in a
    batch with their valid file, as ``decompress -r`` decodes."""
    corpus = build(kinds, models, budget)
    by_kind = {k: [v for v in corpus if v.kind == k] for k in kinds}
    valid = {v.data: v for v in corpus}  # a splice can rebuild another valid file whole
    limits = Limits.around(corpus)
    counts: Counter = Counter()
    start, cpu_start = time.monotonic(), time.process_time()
    slowest = (0.0, -1, "")
    for case in range(first, first + cases):
        if time.monotonic() - start > seconds or time.process_time() - cpu_start > cpu_seconds:
            break
        rng = np.random.default_rng([seed, case])
        kind = str(rng.choice(kinds))
        source = by_kind[kind][int(rng.integers(len(by_kind[kind])))]
        damage = str(rng.choice(PLAIN + FORGED))
        data = mutate(rng, source.data, corpus[int(rng.integers(len(corpus)))].data, damage)
        batched = bool(rng.integers(2)) and not is_archive(source.data)
        t0 = time.monotonic()
        expected = valid.get(data, source)
        outcome = _with_alarm(case_limit, lambda: check(data, expected, damage in FORGED, limits, batched))
        slowest = max(slowest, (time.monotonic() - t0, case, f"{kind}, {damage}"))
        counts[kind, damage, outcome if outcome in PASS else "failed", "batch" if batched else "alone"] += 1
        if outcome not in PASS:
            report(f"FAIL case {case} ({kind}, {damage}{', in a batch' if batched else ''}, seed {seed}): {outcome}")
    _summary(counts, kinds, time.monotonic() - start, time.process_time() - cpu_start, slowest, report)
    return counts


def _summary(counts: Counter, kinds: tuple[str, ...], elapsed: float, cpu: float, slowest: tuple,
             report: Callable[[str], None]) -> None:
    columns = PASS + ("failed",)
    for title, names, at in (("file kind", kinds, 0), ("damage", PLAIN + FORGED, 1),
                             ("decoded", ("alone", "batch"), 3)):
        report(f"{title:<14}{'cases':>8}" + "".join(f"{c:>15}" for c in columns))
        for name in names + ("total",):
            row = [sum(n for key, n in counts.items() if key[2] == c and name in (key[at], "total")) for c in columns]
            report(f"{name:<14}{sum(row):>8}" + "".join(f"{n:>15}" for n in row))
    total, failed = sum(counts.values()), sum(n for key, n in counts.items() if key[2] == "failed")
    report(f"{total} cases in {elapsed:.0f} s ({cpu:.0f} s of CPU), {failed} failed; slowest case {slowest[0]:.2f} s "
           f"(case {slowest[1]}, {slowest[2]})")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m ardmzip.fuzz", description=__doc__.split("\n\n")[1])
    p.add_argument("--cases", type=int, default=5000, help="most cases to try")
    p.add_argument("--seconds", type=float, default=600, help="stop starting cases after this much wall time")
    p.add_argument("--cpu-seconds", type=float, default=float("inf"),
                   help="stop starting cases after this much CPU time of the process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first", type=int, default=0, help="number of the first case (to rerun one)")
    p.add_argument("--case-limit", type=float, default=120.0,
                   help="seconds one case may take before it counts as a hang (a forged budget may rightly cost a tiny "
                   "file half a minute: 1,296 calls of the upscaling model)")
    p.add_argument("--budget", type=int, default=3, help="budget of the valid ARDM files")
    p.add_argument("--kinds", default=",".join(KINDS),
                   help=f"file kinds, comma-separated (default: all: {','.join(KINDS)})")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    models = FuzzModels.shipped()
    names = ", ".join([models.ardm, models.upscale, *models.flows, *models.label_maps])
    print(f"ardmzip fuzz: models {names}; kinds {', '.join(kinds)}; "
          f"budget {a.budget}, seed {a.seed}, {a.threads} thread(s), case limit {a.case_limit:g} s", flush=True)
    counts = run(a.cases, a.seconds, a.seed, a.first, a.case_limit, a.budget, kinds, models,
                 report=lambda line: print(line, flush=True), cpu_seconds=a.cpu_seconds)
    sys.exit(1 if any(key[2] == "failed" for key in counts) else 0)


if __name__ == "__main__":
    main()
