"""Single-image against dataset (archive) bits/dim: what bits-back with the order as latent gains,
and what its initial bits cost. Public API only.

    python -m ardmzip.benchmarks.archive --dataset cifar10 --limit 30 --model ardm-mix-c10 \\
        --orders 0 --orders 1 --orders 4 --out benchmarks/results/archive-cifar10-30

Per model (at its default budget unless --budget): every image compressed alone (.ardm file, header
included) and decoded; then one archive per --orders K of all the images, decoded and compared.
orders 0 is dataset mode without bits-back (every image with the fixed order: it isolates the
shared header and final coder state); K >= 1 codes images bits-back once the stack holds
K * log2(D!) bits. Per image, the bits it added to the stack under K against under 0 (the same
fixed-order code) is the gain of the order latent for that image.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import click
import numpy as np

import ardmzip
from ardmzip.datasets import images

from .codecs import image_models
from .environment import environment


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a).reshape(np.asarray(b).shape), np.asarray(b))


def measure_model(model: str, budget: int, imgs: list[tuple[str, np.ndarray]], orders: tuple[int, ...],
                  threads: int, log) -> dict:
    dims = [int(x.size) for _, x in imgs]
    single, t0 = [], time.perf_counter()
    for name, x in imgs:
        data = ardmzip.compress(x, model=model, budget=budget, threads=threads)
        if not _same(ardmzip.decompress(data, threads=threads), x):
            raise RuntimeError(f"{model}: {name} not restored by single-image coding")
        single.append(len(data))
    info = ardmzip.model_info(model)
    out = {"model": model, "model_id": info.number, "sha256": info.sha256, "budget": budget,
           "images": len(imgs), "dims": sum(dims),
           "single": {"bytes": sum(single), "bpd": 8 * sum(single) / sum(dims),
                      "seconds": time.perf_counter() - t0}, "archives": {}}
    log(f"{model}: single-image {out['single']['bpd']:.4f} bits/dim")
    named = [(f"{i}", x) for i, (_, x) in enumerate(imgs)]  # short names: each costs its length + 1 byte
    fixed_bits = None
    for k in orders:
        t0 = time.perf_counter()
        enc = ardmzip.encode_archive(named, model=model, budget=budget, orders=k, threads=threads)
        t1 = time.perf_counter()
        back = ardmzip.decompress_archive(enc.data, threads=threads)
        if not all(n == m and _same(a, x) for (n, a), (m, x) in zip(back, named)):
            raise RuntimeError(f"{model}: archive with {k} orders not restored")
        bits = [c.stack_bits for c in enc.costs]
        latent = [c.order_latent for c in enc.costs]
        row = {"orders": k, "bytes": len(enc.data), "bpd": 8 * len(enc.data) / sum(dims),
               "payload_bytes": enc.payload_bytes, "header_bytes": len(enc.data) - enc.payload_bytes,
               "initial_images": latent.index(True) if any(latent) else len(latent),
               "initial_bits_needed": k * math.lgamma(dims[0] + 1) / math.log(2),
               "encode_seconds": t1 - t0, "decode_seconds": time.perf_counter() - t1, "stack_bits": bits,
               "order_latent": latent}
        if k == 0:
            fixed_bits = bits
        elif fixed_bits is not None:
            gain = [f - b for f, b, lat in zip(fixed_bits, bits, latent) if lat]
            gain_bpd = [g / d for g, d, lat in zip(gain, [d for d, lat in zip(dims, latent) if lat], latent)]
            row["gain_bits_per_latent_image"] = gain
            row["gain"] = {"images": len(gain), "mean_bits": float(np.mean(gain)) if gain else None,
                           "mean_bpd": float(np.mean(gain_bpd)) if gain else None,
                           "min_bits": min(gain, default=None), "max_bits": max(gain, default=None),
                           "improved": sum(g > 0 for g in gain)}
        out["archives"][str(k)] = row
        log(f"{model}: archive, {k} orders: {row['bpd']:.4f} bits/dim, {row['initial_images']} initial images"
            + (f", gain {row['gain']['mean_bits']:.1f} bits/image on {row['gain']['images']}"
               if row.get("gain", {}).get("images") else ""))
    return out


def table(results: list[dict]) -> str:
    ks = [k for k in results[0]["archives"] if k != "0"]
    head = ["model (budget)", "images", "single-image bpd", "dataset bpd, orders 0",
            *(f"dataset bpd, orders {k}" for k in ks), "initial images (bits needed)", "order-latent gain, bits/image (bpd)"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in results:
        arch = r["archives"]
        init = ", ".join(f"K={k}: {arch[k]['initial_images']} ({arch[k]['initial_bits_needed']:,.0f})" for k in ks)
        gain = ", ".join(f"K={k}: {arch[k]['gain']['mean_bits']:+.1f} ({arch[k]['gain']['mean_bpd']:+.4f})"
                         for k in ks if arch[k].get("gain", {}).get("images"))
        cells = [f"{r['model']} ({r['budget']})", str(r["images"]), f"{r['single']['bpd']:.4f}", f"{arch['0']['bpd']:.4f}",
                 *(f"{arch[k]['bpd']:.4f}" for k in ks), init, gain]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", default="cifar10", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ARDMZIP_DATA_DIR",
              default="../shared/data", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--model", "models", multiple=True,
              help="Repeatable; default: every registered model for 8-bit images.")
@click.option("--budget", type=click.IntRange(min=1), help="Default: each model's own.")
@click.option("--orders", multiple=True, type=click.IntRange(0, 64), default=(0, 1, 4), show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def main(dataset, data_dir, limit, models, budget, orders, threads, out):
    """Single-image vs dataset (archive) bits/dim per model, with the initial bits and the order-latent gain."""
    orders = tuple(sorted(set(orders) | {0}))
    imgs = list(images(dataset, data_dir, limit))
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for model in models or image_models():
        b = budget or ardmzip.model_info(model).default_budget
        results.append(measure_model(model, b, imgs, orders, threads, lambda m: click.echo(m, err=True)))
        summary = {"dataset": dataset, "image_names": [n for n, _ in imgs], "environment": environment(threads),
                   "results": results}
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (out / "table.md").write_text(table(results))
    click.echo((out / "table.md").read_text(), nl=False)


if __name__ == "__main__":
    sys.exit(main())
