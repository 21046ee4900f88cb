"""``python -m ardmzip.benchmarks --dataset cifar10 --data-dir ../shared/data --limit 200``

Bits per dimension from the bytes actually written, every file decoded and compared with the input.
Uses only the public API.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from datetime import datetime, timezone

import numpy as np
import torch
from PIL import Image

import ardmzip

from .datasets import DATASETS, load


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", optimize=True, compress_level=9)
    return buf.getvalue()


def measure(name: str, a: np.ndarray, model: str | None, budget: int | None, nll: bool = True) -> dict:
    t0 = time.perf_counter()
    data = ardmzip.compress(a, model=model, budget=budget)
    t1 = time.perf_counter()
    back = np.asarray(ardmzip.decompress(data))
    t2 = time.perf_counter()
    if not np.array_equal(back, a):
        raise SystemExit(f"{name}: ardmzip round trip is not exact")
    return {"image": name, "dims": int(a.size), "ardmzip_bytes": len(data), "png_bytes": len(png_bytes(a)),
            "model_bits": ardmzip.model_bits(a, model=model, budget=budget) if nll else None,
            "encode_s": t1 - t0, "decode_s": t2 - t1}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--dataset", choices=DATASETS, required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--model")
    p.add_argument("--budget", type=int)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-nll", dest="nll", action="store_false", help="skip the model's ideal code length")
    p.add_argument("--out", help="JSON file for every row and the summary")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows = [measure(n, x, a.model, a.budget, a.nll) for n, x in load(a.dataset, a.data_dir, a.limit)]
    dims = sum(r["dims"] for r in rows)
    summary = {
        "dataset": a.dataset, "images": len(rows), "model": a.model or ardmzip.REGISTRY.default,
        "budget": a.budget or ardmzip.REGISTRY.get(a.model).default_budget,
        "ardmzip_bpd": 8 * sum(r["ardmzip_bytes"] for r in rows) / dims,
        "model_nll_bpd": sum(r["model_bits"] for r in rows) / dims if a.nll else None,
        "png_bpd": 8 * sum(r["png_bytes"] for r in rows) / dims,
        "encode_s_per_image": float(np.mean([r["encode_s"] for r in rows])),
        "decode_s_per_image": float(np.mean([r["decode_s"] for r in rows])),
        "threads": a.threads, "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": {"ardmzip": ardmzip.__version__, "torch": torch.__version__},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    print(json.dumps(summary, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
