"""Flows on categorical data: CIFAR-10 test images as 8-class label maps, coded as L images.

    python -m ardmzip.benchmarks.categorical --data-dir ../shared/data --limit 1000 --model ddf-rgb8 \\
        --model runs/df-rgb8.safetensors --threads 1 --out benchmarks/results/categorical-rgb8-1000

The maps are ``cifar10-rgb8`` (each pixel's nearest corner of the RGB cube: 4 [R >= 128] + 2 [G >= 128]
+ [B >= 128]), images spread over the test set. Each model (a registered name or a .safetensors model
file) and each classical codec codes every map; bits per dimension (one per pixel) come from the
bytes written, every file is decoded and compared, and the models' NLL is given beside. (WebP is not a
default: it has no grey mode, so it codes a map as an RGB image of three equal channels.) The rows,
summary, table and plots are those of ``ardmzip bench`` (an interrupted run resumes).
"""

from __future__ import annotations

from pathlib import Path

import click

from ardmzip.datasets import RGB8

from .codecs import CLASSICAL, classical, learned
from .run import BenchConfig, run


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--limit", type=click.IntRange(min=1), help="Maps spread over the 10,000 (default: all).")
@click.option("--model", "models", multiple=True, required=True, help="Repeatable: a registered model or a model file.")
@click.option("--codec", "codecs", multiple=True, type=click.Choice(CLASSICAL), default=("png", "jpegxl-e7"),
              show_default=True, help="Repeatable classical codec (WebP codes a map as RGB: it has no grey mode).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def main(data_dir: Path, limit: int | None, models: tuple[str, ...], codecs: tuple[str, ...], threads: int,
         out: Path) -> None:
    cfg = BenchConfig((RGB8,), data_dir, out, limit, codecs + ("ardmzip",), models, (1,), True, threads)
    summaries = run(cfg, [classical(c) for c in codecs] + [learned(m, 1, threads) for m in models])
    for s in summaries:
        nll = f" (model NLL {s.nll_bpd:.4f})" if s.nll_bpd is not None else ""
        click.echo(f"{s.codec}: {s.set_bpd:.4f} bits/dim{nll}, {len(s.failed)} not lossless")


if __name__ == "__main__":
    main()
