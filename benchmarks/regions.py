"""Marked regions of a markdown page whose content a command owns: a generated table between

    <!-- table: NAME -->
    ...
    <!-- end table -->

Everything outside the markers is the author's and is kept byte for byte. The content is set off by
blank lines, so that the end marker can never be read as a row of the table above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

START = re.compile(r"^<!-- table: ([\w.-]+) -->$", re.MULTILINE)
END = "<!-- end table -->"
_ANY = re.compile(r"^<!-- (?:table: .*|end table) -->$", re.MULTILINE)


class RegionError(ValueError):
    """Markers that do not pair up, or a region whose table cannot be made."""


@dataclass(frozen=True)
class Region:
    name: str
    start: int  # offset just after the start marker's line
    end: int  # offset of the end marker
    content: str


def regions(text: str, where: str = "text") -> list[Region]:
    """Every region in order; a start without its end, an end without its start or a malformed marker
    is an error naming `where` and the line."""
    found: list[Region] = []
    opened: tuple[str, int] | None = None  # the open region's name and where its content starts
    for m in _ANY.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        start = START.fullmatch(m.group())
        if m.group() == END:
            if opened is None:
                raise RegionError(f"{where}:{line}: '{END}' without a '<!-- table: NAME -->' before it")
            found.append(Region(opened[0], opened[1], m.start(), text[opened[1]:m.start()]))
            opened = None
        elif start is None:
            raise RegionError(f"{where}:{line}: malformed marker {m.group()!r} (want '<!-- table: NAME -->')")
        elif opened is not None:
            raise RegionError(f"{where}: table {opened[0]!r} has no '{END}' before the next table")
        else:
            opened = start.group(1), m.end() + 1
    if opened is not None:
        raise RegionError(f"{where}: table {opened[0]!r} has no '{END}'")
    return found


def rewrite(text: str, make: Callable[[str], str], where: str = "text") -> str:
    """`text` with each region's content replaced by make(name) between blank lines; errors from `make`
    (an unknown name, say) come back as a RegionError naming `where` and the table."""
    out, pos = [], 0
    for r in regions(text, where):
        try:
            body = make(r.name)
        except (KeyError, ValueError) as e:
            message = e.args[0] if e.args else e
            raise RegionError(f"{where}: table {r.name!r}: {message}") from None
        out += [text[pos:r.start], "\n", body.rstrip("\n"), "\n\n"]
        pos = r.end
    return "".join(out + [text[pos:]])
