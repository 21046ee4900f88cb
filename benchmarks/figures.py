"""Result tables rendered from committed ``summary.json`` files, so a figure is never copied by hand.

A table's cells are templates: literal markdown with references ``{SOURCE:FIELD}`` or
``{SOURCE:FIELD:FORMAT}``, where SOURCE names one record of one run's summary (see `Source`) and FIELD
one of its keys or one of the named `FIELDS`. Every figure a table shows is thus read from the run that
measured it.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping


class TableError(ValueError):
    """A table that cannot be made: an unknown table or source, a missing run, record or field."""


@dataclass(frozen=True)
class Source:
    """One record of one run: the entry of ``summary.json``'s list `records` whose keys match `where`."""

    run: str  # the folder under benchmarks/results/
    where: tuple[tuple[str, str], ...]  # (key, value) pairs the record must have, e.g. (("codec", "png"),)
    records: str = "summaries"  # the summary's list: "summaries", "rows" (16-bit) or "quoted_not_measured"


@dataclass(frozen=True)
class Field:
    """A named figure: a record key shown scaled and formatted (times are stored in seconds)."""

    key: str
    scale: float = 1.0
    fmt: str = ".3f"


FIELDS = {
    "bpd": Field("set_bpd"),  # whole-set bits/dim: the bytes of the set over its dimensions
    "nll": Field("nll_bpd"),
    "enc_ms": Field("encode_s", 1000, ",.0f"),
    "dec_ms": Field("decode_s", 1000, ",.0f"),
    "enc_s": Field("encode_s", 1, ",.0f"),
    "dec_s": Field("decode_s", 1, ",.0f"),
}


WIDTH = 110  # a note's lines, as the pages wrap their prose


@dataclass(frozen=True)
class Table:
    """A markdown table and an optional paragraph under it, every figure a reference into a summary."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def read_summary(results: Path, run: str) -> dict:
    path = results / run / "summary.json"
    if not path.is_file():
        raise TableError(f"no summary {path}")
    return json.loads(path.read_text())


def record(summary: dict, source: Source) -> dict:
    """The one record of the run's summary that `source` names; none or several is an error."""
    found = [r for r in summary.get(source.records, ())
             if all(str(r.get(k)) == v for k, v in source.where)]
    if len(found) != 1:
        where = ", ".join(f"{k}={v}" for k, v in source.where)
        raise TableError(f"{len(found)} records with {where} in {source.run}/summary.json ({source.records})")
    return found[0]


def figure(rec: dict, spec: str) -> str:
    """FIELD[:FORMAT] of a record: a key of its own first (default format .3f), else a named field."""
    name, _, fmt = spec.partition(":")
    field = Field(name) if name in rec else FIELDS.get(name)
    if field is None or rec.get(field.key) is None:
        raise TableError(f"no figure {name!r} in record {rec.get('codec', rec)}")
    value = rec[field.key] * field.scale if field.scale != 1 else rec[field.key]
    return format(value, fmt or (",d" if isinstance(value, int) else field.fmt))


class _Figure:
    """A record seen by str.format: the format spec is the field, so '{v14:bpd}' reads like a reference."""

    def __init__(self, rec: dict):
        self.rec = rec

    def __format__(self, spec: str) -> str:
        return figure(self.rec, spec)


class _Sources(dict):
    """The references of a template, each run's summary read when first used."""

    def __init__(self, results: Path, sources: Mapping[str, Source]):
        super().__init__()
        self.results, self.sources = results, sources
        self.summaries: dict[str, dict] = {}

    def __missing__(self, name: str) -> _Figure:
        if name not in self.sources:
            raise TableError(f"unknown source {name!r}")
        source = self.sources[name]
        if source.run not in self.summaries:
            self.summaries[source.run] = read_summary(self.results, source.run)
        return _Figure(record(self.summaries[source.run], source))


def render(table: Table, sources: Mapping[str, Source], results: Path) -> str:
    """The table's markdown, its note after a blank line; ends with a newline."""
    refs = _Sources(results, sources)

    def fill(template: str) -> str:
        return template.format_map(refs)

    lines = [_line(fill(c) for c in table.header), "|" + "---|" * len(table.header)]
    lines += [_line(fill(c) for c in row) for row in table.rows]
    if table.note:
        lines += ["", textwrap.fill(fill(table.note), WIDTH, break_long_words=False, break_on_hyphens=False)]
    return "\n".join(lines) + "\n"


def _line(cells: Iterable[str]) -> str:
    return "|" + "".join(f" {c} |" if c else " |" for c in cells)
