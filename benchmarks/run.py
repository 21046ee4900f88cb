"""A benchmark run: every chosen codec on every image of the chosen sets, rows stored as they come,
rows already stored skipped, then the summary, table and plots written from the stored rows.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import click

import ardmzip

from . import plots, report
from .codecs import CLASSICAL, GROUPS, Codec, classical, image_models, learned
from .environment import environment
from .measure import Row
from .measurer import Measurer, Task, measure_tasks
from .quoted import quoted_for
from .store import RowStore
from .summary import Summary, summarize


@dataclass
class BenchConfig:
    datasets: tuple[str, ...]
    data_dir: Path
    out: Path
    limit: int | None = None
    codecs: tuple[str, ...] = ("classical", "ardmzip")  # names from CLASSICAL, "ardmzip", or a group
    models: tuple[str, ...] = ()  # empty: every registered model for 8-bit images
    budgets: tuple[int, ...] = ()  # empty: each model's default budget
    nll: bool = True
    threads: int = 1  # torch threads per image (per worker)
    jobs: int = 1  # worker processes measuring images at once
    quiet: bool = False
    search: int = 1  # generation orders the ardmzip ARDMs try per image (compress's search)


def build_codecs(cfg: BenchConfig) -> list[Codec]:
    names = list(dict.fromkeys(n for c in cfg.codecs for n in GROUPS.get(c, (c,))))
    codecs = [classical(n) for n in names if n in CLASSICAL]
    if "ardmzip" in names:
        for model in cfg.models or image_models():
            info = ardmzip.model_info(model)  # a discrete flow: one network pass, no budget to sweep
            for budget in (info.default_budget,) if info.one_pass else cfg.budgets or (info.default_budget,):
                codecs.append(learned(model, budget, cfg.threads, 1 if info.one_pass else cfg.search, info))
    unknown = [n for n in names if n not in CLASSICAL and n != "ardmzip"]
    if unknown:
        raise ValueError(f"unknown codec(s) {', '.join(unknown)} (known: {', '.join(CLASSICAL)}, ardmzip, classical)")
    return codecs


def dataset_label(dataset: str, data_dir: Path) -> str:
    """A folder is named after itself in the rows; the known sets by their names."""
    return f"folder:{data_dir.resolve().name}" if dataset == "folder" else dataset


def measure_all(cfg: BenchConfig, codecs: list[Codec], store: RowStore,
                build: Callable[[], list[Codec]] | None = None) -> list[Row]:
    """The rows this run asks for, measuring only those not already in the store, every set's images in
    one go (one pool of workers, one warm-up).

    build: makes `codecs` again in a worker process (required for cfg.jobs > 1)."""
    stored = {r.key: r for r in store.rows()}
    measurer = Measurer(codecs, cfg.data_dir, cfg.limit, cfg.nll)
    keys: dict[tuple[str, str], list[tuple]] = {}
    tasks: list[Task] = []
    for dataset in cfg.datasets:
        label = dataset_label(dataset, cfg.data_dir)
        names = measurer.image_set(dataset).names
        for i, name in enumerate(names):
            keys[label, name] = [(label, name, c.name, c.library) for c in codecs]
            # one task per row, so that a slow image (a photo through many models) stores each row as it
            # comes and an interrupted run loses at most the rows in progress
            tasks.extend(Task(dataset, label, i, name, j) for j, k in enumerate(keys[label, name])
                         if k not in stored)
        todo = sum(t.label == label for t in tasks)
        if todo < len(codecs) * len(names) and not cfg.quiet:
            click.echo(f"{label}: {len(codecs) * len(names) - todo} rows already in {store.dir}, "
                       f"{todo} to measure", err=True)
    labels = ", ".join(dict.fromkeys(label for label, _ in keys))
    with click.progressbar(length=len(tasks), label=labels, file=sys.stderr,
                           show_pos=True, show_eta=True, hidden=cfg.quiet) as bar, \
            contextlib.closing(measure_tasks(tasks, cfg.jobs, measurer, build)) as rows:
        for row in rows:
            store.append([row])
            stored[row.key] = row
            _warn_failure(row, cfg.quiet)
            bar.update(1)
    return [stored[k] for ks in keys.values() for k in ks]


def _warn_failure(r: Row, quiet: bool) -> None:
    if not r.lossless and not quiet:
        click.echo(f"\n{r.codec} on {r.dataset}/{r.image}: {r.error} -- reported, not averaged", err=True)


def run(cfg: BenchConfig, codecs: list[Codec] | None = None) -> list[Summary]:
    """Measure what is missing, then write summary.json, table.md and the plots into cfg.out."""
    build = partial(build_codecs, cfg) if codecs is None else None
    codecs = build() if build else codecs
    store = RowStore(cfg.out)
    rows = measure_all(cfg, codecs, store, build)
    summaries = summarize(rows)
    quoted = quoted_for([dataset_label(d, cfg.data_dir) for d in cfg.datasets])
    env = environment(cfg.threads, cfg.jobs)
    config = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items() if k != "quiet"}
    report.write(cfg.out, summaries, quoted, env, config)
    plots.bpd_per_codec(summaries, quoted, cfg.out / "bpd.png")
    plots.bpd_vs_time(summaries, cfg.out / "bpd_vs_time.png")
    plots.coded_vs_nll(rows, cfg.out / "coded_vs_nll.png")
    return summaries
