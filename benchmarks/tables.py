"""Regenerate the result tables of the documentation from the committed benchmark summaries.

    python -m ardmzip.benchmarks.tables            # rewrite the marked tables of README.md, docs/results.md
    python -m ardmzip.benchmarks.tables --check    # exit 1 if a page differs from what it would get

Run from the repository root. Each table is defined once, in `table_specs`; a page marks where it goes
with ``<!-- table: NAME -->`` ... ``<!-- end table -->`` (see `regions`), so a figure lives only in the
summary of the run that measured it, and ``--check`` (run by the test suite) catches a hand edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from .figures import Source, Table, TableError, render
from .regions import RegionError, regions, rewrite
from .table_specs import SOURCES, TABLES

PAGES = (Path("README.md"), Path("docs/results.md"))
RESULTS = Path("benchmarks/results")


@dataclass(frozen=True)
class TablesConfig:
    pages: tuple[Path, ...] = PAGES
    results: Path = RESULTS  # the run folders whose summary.json the figures are read from
    tables: dict[str, Table] = field(default_factory=lambda: TABLES)
    sources: dict[str, Source] = field(default_factory=lambda: SOURCES)


def make(cfg: TablesConfig, name: str) -> str:
    """One table's markdown; an unknown name lists the known ones."""
    if name not in cfg.tables:
        raise TableError(f"unknown table (known: {', '.join(cfg.tables)})")
    return render(cfg.tables[name], cfg.sources, cfg.results)


def regenerated(cfg: TablesConfig, page: Path) -> str:
    return rewrite(page.read_text(), lambda name: make(cfg, name), str(page))


def stale(cfg: TablesConfig, page: Path) -> list[str]:
    """The tables of `page` whose committed content differs from what they would get."""
    old = regions(page.read_text(), str(page))
    new = regions(regenerated(cfg, page), str(page))
    return [n.name for o, n in zip(old, new) if o.content != n.content]


def update(cfg: TablesConfig) -> list[Path]:
    """Rewrite every page whose tables changed; the pages written."""
    written = []
    for page in cfg.pages:
        text = regenerated(cfg, page)
        if text != page.read_text():
            page.write_text(text)
            written.append(page)
    return written


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("pages", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--results", type=click.Path(exists=True, file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="The run folders the figures are read from.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a page's tables differ from the summaries.")
def main(pages: tuple[Path, ...], results: Path, check: bool) -> None:
    """Write the result tables into PAGES (default: README.md docs/results.md) from the runs' summaries."""
    cfg = TablesConfig(pages or PAGES, results)
    try:
        if check:
            for page in cfg.pages:
                names = stale(cfg, page)
                if names:
                    raise click.ClickException(
                        f"{page}: table {', '.join(repr(n) for n in names)} differs from the summaries "
                        "(run python -m ardmzip.benchmarks.tables)")
            return
        for page in update(cfg):
            click.echo(f"wrote {page}")
    except RegionError as e:  # regions.rewrite reports a table that cannot be made as one
        raise click.ClickException(str(e)) from None


if __name__ == "__main__":
    main()
