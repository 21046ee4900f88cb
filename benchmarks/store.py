"""Rows on disk as JSON lines, appended as they are measured: an interrupted run keeps them and resumes.

Published runs may keep their rows gzipped (``rows.jsonl.gz``, read-only); new rows still go to
``rows.jsonl`` beside it, and both are read.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterable

from .measure import Row

PLAIN, PACKED = "rows.jsonl", "rows.jsonl.gz"


class RowStore:
    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / PLAIN
        self._drop_partial_line()

    def _drop_partial_line(self) -> None:
        """A run killed while writing leaves half a line; cut it so the next row starts clean."""
        if not self.path.exists():
            return
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            self.path.write_bytes(raw[: raw.rfind(b"\n") + 1])

    def rows(self) -> list[Row]:
        """Every stored row; a later row for the same key replaces an earlier one."""
        by_key: dict[tuple, Row] = {}
        for path, opener in ((self.dir / PACKED, gzip.open), (self.path, open)):
            if path.exists():
                with opener(path, "rt") as f:
                    for line in f:
                        row = Row.from_json(json.loads(line))
                        by_key[row.key] = row
        return list(by_key.values())

    def append(self, rows: Iterable[Row]) -> None:
        with self.path.open("a") as f:
            for row in rows:
                f.write(json.dumps(row.to_json(), separators=(",", ":")) + "\n")
            f.flush()
