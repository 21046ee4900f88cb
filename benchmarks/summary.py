"""Per dataset and codec: whole-set and mean per-image bits/dim, model NLL, times and network calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .measure import Row


@dataclass(frozen=True)
class Summary:
    """Averages over the images a codec coded losslessly; the others are listed in `failed`."""

    dataset: str
    codec: str
    library: str
    images: int
    failed: tuple[str, ...]
    set_bpd: float | None  # total bits / total dimensions: what storing the whole set costs
    mean_bpd: float | None  # mean of per-image bits/dim: what papers call "per image"
    nll_bpd: float | None  # the model's ideal code length over the same images, total bits / dims
    encode_s: float | None  # per image
    decode_s: float | None
    calls: float | None  # network calls per image
    budget: int | None


def summarize(rows: list[Row]) -> list[Summary]:
    """One summary per (dataset, codec), in the order they first appear."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.dataset, r.codec), []).append(r)
    return [_one(g) for g in groups.values()]


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if values and None not in values else None


def _one(rows: list[Row]) -> Summary:
    ok = [r for r in rows if r.lossless]
    dims = sum(r.dims for r in ok)
    nll = [r.nll_bpd for r in ok]
    return Summary(
        dataset=rows[0].dataset, codec=rows[0].codec, library=rows[0].library, images=len(ok),
        failed=tuple(r.image for r in rows if not r.lossless),
        set_bpd=8 * sum(r.bytes for r in ok) / dims if ok else None,
        mean_bpd=_mean([8 * r.bytes / r.dims for r in ok]),
        nll_bpd=sum(b * r.dims for b, r in zip(nll, ok)) / dims if ok and None not in nll else None,
        encode_s=_mean([r.encode_s for r in ok]), decode_s=_mean([r.decode_s for r in ok]),
        calls=_mean([r.calls for r in ok]), budget=rows[0].budget)
