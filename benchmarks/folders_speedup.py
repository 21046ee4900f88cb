"""What ``compress -r -j N`` (and ``--batch N``) buys: wall time of the whole command, per configuration.

    python -m ardmzip.benchmarks.folders_speedup --limit 100 --repeat 2 --out benchmarks/results/folders-speedup-100
    python -m ardmzip.benchmarks.folders_speedup --config "-j 1 --threads 1 --batch 1" \
        --config "-j 1 --threads 1" --decompress --out benchmarks/results/folders-batch-100

Writes --limit images of the set (spread over it: every 100th CIFAR-10 test image for 100) as PNG into
--out/images, then runs the public command ``ardmzip compress -r CONFIG --out-dir --out/ardm`` once per
--config, the configurations alternating, --repeat times, from scratch each time. The load average
is recorded before and after each run, since other jobs on a shared machine change what -j buys.
With --decompress, each run then times ``ardmzip decompress -r CONFIG`` on the files it wrote, and
checks every decoded image against its PNG. Writes summary.json and table.md into --out after every run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

from ardmzip.datasets import images

from .environment import environment

HEAD = "| config | wall s | files, bytes, bits/dim (the command's summary) | load before | load after |\n" \
       "|---|---|---|---|---|\n"


HEAD_BOTH = "| config | compress wall s | decompress wall s | compress summary | decompress summary | " \
            "decoded exactly | load before | load after |\n|---|---|---|---|---|---|---|---|\n"


def table(rows: list[dict]) -> str:
    if rows and "decompress_wall_s" in rows[0]:
        return HEAD_BOTH + "".join(
            f"| `{r['config']}` | {r['wall_s']:.1f} | {r['decompress_wall_s']:.1f} | {r['summary']} | "
            f"{r['decompress_summary']} | {r['decoded_exactly']} | {r['load_before']:.2f} | "
            f"{r['decompress_load_after']:.2f} |\n" for r in rows)
    return HEAD + "".join(f"| `{r['config']}` | {r['wall_s']:.1f} | {r['summary']} | {r['load_before']:.2f} | "
                          f"{r['load_after']:.2f} |\n" for r in rows)


def run_once(ardmzip: str, config: str, extra: list[str], src: Path, dst: Path, command: str = "compress") -> dict:
    """One timed `compress -r` (or decompress), its outputs written afresh; the summary is the command's
    last stderr line."""
    shutil.rmtree(dst, ignore_errors=True)
    args = [ardmzip, command, "-r", *shlex.split(config), *extra, "--out-dir", str(dst), str(src)]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = done.stderr.strip().splitlines()
    return {"config": config, "command": shlex.join(args), "exit_status": done.returncode, "wall_s": wall,
            "summary": lines[-1] if lines else "", "load_before": load_before, "load_after": os.getloadavg()[0],
            "bytes": sum(f.stat().st_size for f in dst.rglob("*.ardm"))}


def decompress_once(ardmzip: str, config: str, extra: list[str], src: Path, dst: Path, originals: Path) -> dict:
    """A timed `decompress -r` of one run's files, every image compared with its original."""
    done = run_once(ardmzip, config, extra, src, dst, "decompress")
    exact = all((dst / p.name).is_file() and np.array_equal(np.asarray(Image.open(p)),
                                                            np.asarray(Image.open(dst / p.name)))
                for p in sorted(originals.glob("*.png")))
    return {"decompress_command": done["command"], "decompress_exit_status": done["exit_status"],
            "decompress_wall_s": done["wall_s"], "decompress_summary": done["summary"],
            "decompress_load_after": done["load_after"], "decoded_exactly": exact}


@click.command()
@click.option("--dataset", default="cifar10", show_default=True, help="A benchmark set, or 'folder' (--data-dir).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ARDMZIP_DATA_DIR",
              default="../shared/data", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--config", "configs", multiple=True, default=("-j 1 --threads 1", "-j 2"), show_default=True,
              help="compress -r options of one configuration (repeatable).")
@click.option("--repeat", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--model", help="Passed to compress (default: the registry's default model).")
@click.option("--budget", type=click.IntRange(min=1), help="Passed to compress (default: the model's own).")
@click.option("--decompress", is_flag=True, help="Also time decompress -r CONFIG on each run's files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def main(dataset: str, data_dir: Path, limit: int, configs: tuple[str, ...], repeat: int, model: str | None,
         budget: int | None, decompress: bool, out: Path) -> None:
    ardmzip = shutil.which("ardmzip")
    if ardmzip is None:
        raise click.ClickException("the ardmzip command is not on PATH (pip install ardmzip)")
    src = out / "images"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for name, pixels in images(dataset, data_dir, limit):
        Image.fromarray(pixels).save(src / f"{Path(name).stem}.png")
    extra = (["--model", model] if model else []) + (["--budget", str(budget)] if budget else [])
    model_file = ["--model", model] if model and Path(model).is_file() else []  # decompress needs a file back
    env = environment(1)
    del env["machine"]["threads"]  # each configuration sets its own
    rows: list[dict] = []
    click.echo(table([]) if not decompress else HEAD_BOTH, nl=False)
    for _ in range(repeat):
        for config in configs:
            rows.append(run_once(ardmzip, config, extra, src, out / "ardm"))
            if decompress:
                rows[-1].update(decompress_once(ardmzip, config, model_file, out / "ardm", out / "png", src))
            click.echo(table(rows[-1:])[len(HEAD_BOTH if decompress else HEAD):], nl=False)
            (out / "summary.json").write_text(json.dumps(
                {"dataset": dataset, "limit": limit, "environment": env, "rows": rows}, indent=1) + "\n")
            (out / "table.md").write_text(table(rows))
    shutil.rmtree(out / "ardm", ignore_errors=True)
    shutil.rmtree(out / "png", ignore_errors=True)


if __name__ == "__main__":
    main()
