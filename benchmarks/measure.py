"""One codec on one image: bytes actually written, times, and a pixel-exact check of the decoded image."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .codecs import Codec


@dataclass(frozen=True)
class Row:
    """One measurement; a row that is not `lossless` (or has an `error`) is reported, never averaged."""

    dataset: str
    image: str  # its name within the dataset
    codec: str  # as tables show it, e.g. ardmzip-ardm-mix-c10-b32
    library: str  # what coded it, with its version
    dims: int  # sub-pixels: height x width x channels
    lossless: bool  # the decoded image equalled the original
    bytes: int | None = None  # of the whole file, header and checksums included
    bpd: float | None = None  # 8 x bytes / dims
    encode_s: float | None = None
    decode_s: float | None = None
    nll_bpd: float | None = None  # the model's own -log2 p, per dimension: bpd less the coder's overhead
    calls: int | None = None  # network calls per image
    budget: int | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What a resumed run matches on: same image, codec and library versions (weights included)."""
        return self.dataset, self.image, self.codec, self.library

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, d: dict) -> Row:
        return cls(**d)


def measure(codec: Codec, dataset: str, name: str, image: np.ndarray, nll: bool = True) -> Row:
    """Encode, decode and compare; bits/dim come from the length of the encoded bytes.

    nll: a model's ideal code length, from its encoder's own network calls (no second pass)."""
    base = dict(dataset=dataset, image=name, codec=codec.name, library=codec.library, dims=int(image.size),
                budget=codec.budget)
    try:
        t0 = time.perf_counter()
        if nll and codec.encode_measured:
            data, calls, bits = codec.encode_measured(image)
        else:
            (data, calls), bits = codec.encode(image), None
        t1 = time.perf_counter()
        back = codec.decode(data, 1 if image.ndim == 2 else image.shape[2])
        t2 = time.perf_counter()
    except Exception as e:  # a codec refusing an image is a result to report, not a crash of the run
        return Row(**base, lossless=False, error=f"{e.__class__.__name__}: {e}")
    lossless = back.shape == image.shape and back.dtype == image.dtype and np.array_equal(back, image)
    nll_bpd = None if bits is None else round(bits / image.size, 5)
    return Row(**base, lossless=bool(lossless), bytes=len(data), bpd=round(8 * len(data) / image.size, 5),
               encode_s=round(t1 - t0, 6), decode_s=round(t2 - t1, 6), nll_bpd=nll_bpd, calls=calls,
               error=None if lossless else f"decoded image differs (shape {back.shape}, dtype {back.dtype})")
