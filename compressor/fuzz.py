"""Long decoder fuzzing: ``python -m ardmzip.fuzz --cases 5000 --seconds 600``.

Damages valid files the ways disks, networks and forgers do: bit flips, truncations, extensions and
splices (random bytes, or another valid file), and, behind a recomputed file checksum where only the
decoder's own checks stand, rewritten header fields and bytes (size, budget, precision, model, mode)
and rewritten or swapped payloads. Each case is decoded as the CLI does (decode, then PNG) under a
time limit. It passes with the original pixels or an ArdmzipError; another exception, a timeout or
other pixels fail it. Header fields that only the file checksum covers (the size at the same pixel
count, mode, ICC profile, colour key) may follow a forged checksum: outcome "forged-fields".
Runs are reproducible from --seed (one case alone: --first N --cases 1). Needs SIGALRM (Linux, macOS).
Exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import struct
import sys
import time
import zlib
from collections import Counter
from typing import Callable

import numpy as np
import torch
from PIL import Image

from . import api
from .errors import ArdmzipError
from .header import EXTERNAL_MODEL_ID, pack, tag_length, unpack
from .image_planes import ImageParts, split_image
from .registry import REGISTRY

Corpus = list[tuple[Image.Image, bytes]]
PLAIN = ("flip", "truncate", "extend", "splice", "cross")  # the file checksum is left as it is
FORGED = ("header-field", "header-bytes", "payload", "payload-swap")  # the file checksum is recomputed
PASS = ("refused", "exact", "forged-fields")


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the decoder can swallow it."""


def sample_images() -> list[Image.Image]:
    """Small images of every mode and header option (palette, transparency, ICC, uniform alpha, empty payload)."""
    rng = np.random.default_rng(0)

    def noise(h: int, w: int, c: int) -> np.ndarray:
        ramp = np.add.outer(np.arange(h) * 9, np.arange(w) * 5)[..., None] + np.arange(c) * 40
        return ((ramp + rng.integers(0, 30, (h, w, c))) % 256).astype(np.uint8)

    rgba = Image.fromarray(noise(8, 8, 4), "RGBA")
    la = Image.fromarray(np.concatenate([noise(7, 9, 1), np.full((7, 9, 1), 200, np.uint8)], axis=2), "LA")
    pal = Image.fromarray(noise(8, 10, 1)[..., 0] % 16, "L").convert("P")
    pal.putpalette(list(range(48)))
    pal.info["transparency"] = bytes(range(0, 256, 16))
    grey = Image.fromarray(noise(6, 11, 1)[..., 0], "L")
    grey.info.update(transparency=7, icc_profile=b"not a real profile" * 3)
    return [Image.fromarray(noise(9, 12, 3), "RGB"), rgba, la, pal, pal.convert("PA"), grey,
            Image.fromarray(noise(5, 13, 1)[..., 0] > 60), Image.new("RGB", (16, 6))]


def _pixels(parts: ImageParts) -> tuple:
    """What the pixel checksum covers: the decoder must never get it wrong."""
    return [p.tobytes() for p in parts.planes], parts.palette, parts.alpha_constant


def _fields(parts: ImageParts) -> tuple:
    """What only the file checksum covers."""
    return parts.width, parts.height, parts.mode, parts.icc, parts.colour_key


def _forge(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def _flip(rng: np.random.Generator, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
    return bytes(buf)


def _field_change(rng: np.random.Generator, head):
    """The header with one structural field rewritten to a plausible or hostile value."""
    big = [0, 1, 2, 1 << 14, (1 << 28) + 1, (1 << 32) - 1, 1 << 34]
    field = str(rng.choice(["width", "height", "size", "budget", "precision", "model", "tag", "pixel_crc", "alpha"]))

    def near(v: int) -> int:
        return int(rng.choice([v - 1, v + 1, 2 * v, int(rng.integers(1, 64)), *big]))

    if field == "size":
        return dataclasses.replace(head, width=head.height, height=head.width)
    if field in ("width", "height", "budget"):
        return dataclasses.replace(head, **{field: max(0, near(getattr(head, field)))})
    if field == "precision":
        return dataclasses.replace(head, precision=int(rng.integers(0, 256)))
    if field == "model":
        model_id = int(rng.choice([EXTERNAL_MODEL_ID, int(rng.integers(0, 256))]))
        return dataclasses.replace(head, model_id=model_id, weights_tag=rng.bytes(tag_length(model_id)))
    if field == "tag":
        return dataclasses.replace(head, weights_tag=rng.bytes(len(head.weights_tag)))
    if field == "pixel_crc":
        return dataclasses.replace(head, pixel_crc=int(rng.integers(0, 1 << 32)))
    return dataclasses.replace(head, alpha_constant=None if head.alpha_constant is not None else int(rng.integers(256)))


def mutate(rng: np.random.Generator, corpus: Corpus, kind: str) -> tuple[int, bytes]:
    """One damaged file: (index of the valid file it came from, its bytes)."""
    i = int(rng.integers(len(corpus)))
    data = corpus[i][1]
    other = corpus[int(rng.integers(len(corpus)))][1]
    head, payload = unpack(data)
    header_len = len(data) - 4 - len(payload)
    if kind == "flip":
        return i, _flip(rng, data)
    if kind == "truncate":
        return i, data[:int(rng.integers(0, len(data)))]
    if kind == "extend":
        return i, data + rng.bytes(int(rng.integers(1, 65)))
    if kind == "splice":
        a = int(rng.integers(0, len(data) + 1))
        b = int(rng.integers(a, min(len(data), a + 32) + 1))
        return i, data[:a] + rng.bytes(int(rng.integers(0, 33))) + data[b:]
    if kind == "cross":
        return i, data[:int(rng.integers(0, len(data) + 1))] + other[int(rng.integers(0, len(other) + 1)):]
    if kind == "header-field":
        return i, pack(_field_change(rng, head), payload)
    if kind == "header-bytes":
        buf = bytearray(data[:-4])
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(0, header_len))] = int(rng.integers(0, 256))
        return i, _forge(bytes(buf))
    if kind == "payload":
        words = len(payload) // 4
        choice = int(rng.integers(0, 5))
        if choice == 0 and payload:
            new = _flip(rng, payload)
        elif choice == 1:
            new = payload[:4 * int(rng.integers(0, words + 1))]
        elif choice == 2:
            new = payload + rng.bytes(4 * int(rng.integers(1, 9)))
        else:
            new = rng.bytes(4 * int(rng.integers(0, 2 * words + 3)))
        return i, _forge(data[:header_len] + new)
    other_payload = unpack(other)[1]
    return i, _forge(data[:header_len] + other_payload)


def check(data: bytes, original: Image.Image, forged: bool, max_pixels: int) -> str:
    """The outcome of decoding one case; a name outside PASS is a failure."""
    try:
        out = api.decompress(data, max_pixels=max_pixels)
        api.encode_png(out)
    except ArdmzipError:
        return "refused"
    except Exception as e:  # the finding this tool exists for
        return f"crash ({e.__class__.__name__}: {e})"
    got, want = split_image(out), split_image(original)
    if _pixels(got) != _pixels(want):
        return "WRONG PIXELS"
    if _fields(got) == _fields(want):
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


def run(cases: int, seconds: float, seed: int = 0, first: int = 0, case_limit: float = 30.0, budget: int = 3,
        report: Callable[[str], None] = print) -> Counter:
    """Fuzz until `cases` cases or `seconds` have passed; counts (kind, outcome), failures reported as they come."""
    corpus = [(im, api.compress(im, budget=budget)) for im in sample_images()]
    max_pixels = 4 * max(im.width * im.height for im, _ in corpus)  # forged sizes stay cheap to decode
    valid = {data: im for im, data in corpus}  # a splice can rebuild another valid file whole
    counts: Counter = Counter()
    start = time.monotonic()
    slowest = (0.0, -1, "")
    for case in range(first, first + cases):
        if time.monotonic() - start > seconds:
            break
        rng = np.random.default_rng([seed, case])
        kind = str(rng.choice(PLAIN + FORGED))
        i, data = mutate(rng, corpus, kind)
        t0 = time.monotonic()
        original = valid.get(data, corpus[i][0])
        outcome = _with_alarm(case_limit, lambda: check(data, original, kind in FORGED, max_pixels))
        slowest = max(slowest, (time.monotonic() - t0, case, kind))
        counts[kind, outcome if outcome in PASS else "failed"] += 1
        if outcome not in PASS:
            report(f"FAIL case {case} ({kind}, seed {seed}): {outcome}")
    _summary(counts, time.monotonic() - start, slowest, report)
    return counts


def _summary(counts: Counter, elapsed: float, slowest: tuple, report: Callable[[str], None]) -> None:
    columns = PASS + ("failed",)
    report(f"{'kind':<14}{'cases':>8}" + "".join(f"{c:>16}" for c in columns))
    for kind in PLAIN + FORGED + ("total",):
        row = [sum(n for (k, o), n in counts.items() if o == c and kind in (k, "total")) for c in columns]
        report(f"{kind:<14}{sum(row):>8}" + "".join(f"{n:>16}" for n in row))
    total, failed = sum(counts.values()), sum(n for (_, o), n in counts.items() if o == "failed")
    report(f"{total} cases in {elapsed:.0f} s, {failed} failed; slowest case {slowest[0]:.2f} s "
           f"(case {slowest[1]}, {slowest[2]})")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m ardmzip.fuzz", description=__doc__.split("\n\n")[1])
    p.add_argument("--cases", type=int, default=5000, help="most cases to try")
    p.add_argument("--seconds", type=float, default=600, help="stop starting cases after this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first", type=int, default=0, help="number of the first case (to rerun one)")
    p.add_argument("--case-limit", type=float, default=30.0, help="seconds one case may take before it counts as a hang")
    p.add_argument("--budget", type=int, default=3, help="budget of the valid files")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(f"ardmzip fuzz: model {REGISTRY.default}, budget {a.budget}, seed {a.seed}, {a.threads} thread(s), "
          f"case limit {a.case_limit:g} s", flush=True)
    counts = run(a.cases, a.seconds, a.seed, a.first, a.case_limit, a.budget,
                 report=lambda line: print(line, flush=True))
    sys.exit(1 if any(o == "failed" for _, o in counts) else 0)


if __name__ == "__main__":
    main()
