"""``ardmzip bench`` (also ``python -m ardmzip.benchmarks``): the benchmark run from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from ardmzip import MAX_SEARCH, ArdmzipError
from ardmzip.datasets import BENCHMARK_SETS, GREY, DataError

from .codecs import CLASSICAL, GROUPS
from .run import BenchConfig, run


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", "datasets", multiple=True, required=True, type=click.Choice(BENCHMARK_SETS + (GREY, "folder")),
              help="Repeatable. 'folder' benchmarks every image file in --data-dir.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ARDMZIP_DATA_DIR",
              default="../shared/data", show_default=True, help="Laid out as shared/data (env ARDMZIP_DATA_DIR).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N images per set, spread over the set.")
@click.option("--codec", "codecs", multiple=True, type=click.Choice(CLASSICAL + tuple(GROUPS)),
              help="Repeatable; default: all classical codecs and every ardmzip model.")
@click.option("--model", "models", multiple=True,
              help="Repeatable ardmzip model; default: every registered one for 8-bit images.")
@click.option("--budget", "budgets", multiple=True, type=click.IntRange(min=1),
              help="Repeatable network-call budget for the ardmzip models; default: each model's own.")
@click.option("--search", type=click.IntRange(1, MAX_SEARCH), default=1, show_default=True,
              help="Generation orders the ardmzip ARDMs try per image, keeping the smallest file (compress --search).")
@click.option("--no-nll", "nll", is_flag=True, flag_value=False, default=True,
              help="Skip the model's ideal code length (taken from the encoder's own network calls, "
              "about 1% of the encode time).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Torch threads per image.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes measuring images at once (times are then taken with the CPU shared).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="bench-results",
              show_default=True, help="Folder for rows.jsonl, summary.json, table.md and plots; "
              "rerunning into it measures only the rows still missing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or messages.")
def bench(datasets, data_dir, limit, codecs, models, budgets, search, nll, threads, jobs, out, quiet):
    """Lossless bits/dim and speed of ardmzip and classical codecs on benchmark image sets."""
    cfg = BenchConfig(tuple(datasets), data_dir, out, limit, tuple(codecs) or ("classical", "ardmzip"),
                      tuple(models), tuple(budgets), nll, threads, jobs, quiet, search)
    try:
        run(cfg)
    except (ArdmzipError, DataError, ModuleNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    click.echo((out / "table.md").read_text(), nl=False)
