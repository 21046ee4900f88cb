"""The run's summary as JSON (with its environment) and as a markdown table, quoted figures marked."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .quoted import Quoted
from .summary import Summary

HEADER = ("| codec | images | bits/dim, whole set | bits/dim, mean per image | model NLL bits/dim "
          "| encode ms/image | decode ms/image | network calls/image |\n|---|---|---|---|---|---|---|---|")


def _num(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def _ms(seconds: float | None) -> str:
    return _num(None if seconds is None else 1000 * seconds, ",.1f")


def _line(s: Summary) -> str:
    return (f"| {s.codec} | {s.images} | {_num(s.set_bpd, '.3f')} | {_num(s.mean_bpd, '.3f')} "
            f"| {_num(s.nll_bpd, '.3f')} | {_ms(s.encode_s)} | {_ms(s.decode_s)} | {_num(s.calls, '.0f')} |")


def markdown(summaries: list[Summary], quoted: list[Quoted], env: dict) -> str:
    """One table per dataset; rows quoted from papers follow in italics, marked as not measured."""
    m, v = env["machine"], env["versions"]
    workers = f", {m['jobs']} images at once" if m.get("jobs", 1) > 1 else ""
    out = [f"Measured {env['date']} on {m['cpu']} ({m['cores']} cores, {m['threads']} thread(s){workers}), "
           + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
           "Bits/dim from the bytes of each encoded file; every file was decoded and compared with the input, "
           "and an image a codec did not restore exactly is listed below its table, never averaged in."]
    out += ["", "Codecs: " + "; ".join(f"{c} ({lib})" for c, lib in
                                    dict.fromkeys((s.codec, s.library) for s in summaries)) + "."]
    for dataset in dict.fromkeys(s.dataset for s in summaries):
        rows = [s for s in summaries if s.dataset == dataset]
        out += ["", f"### {dataset}", "", HEADER] + [_line(s) for s in rows]
        out += [f"| *{q.method} (quoted, not measured)* | | | *{q.bpd:.2f}* | | | | |"
                for q in quoted if q.dataset == dataset]
        out += [""] + [f"- **{s.codec} not lossless or refused on {len(s.failed)} image(s)**: "
                f"{', '.join(s.failed[:10])}{' ...' if len(s.failed) > 10 else ''}" for s in rows if s.failed]
        out += [f"- quoted: {q.method}, {q.source}" for q in quoted if q.dataset == dataset]
    return "\n".join(out) + "\n"


def write(out_dir: Path, summaries: list[Summary], quoted: list[Quoted], env: dict, config: dict) -> None:
    (out_dir / "summary.json").write_text(json.dumps(
        {"environment": env, "config": config, "summaries": [asdict(s) for s in summaries],
         "quoted_not_measured": [asdict(q) for q in quoted]}, indent=1) + "\n")
    (out_dir / "table.md").write_text(markdown(summaries, quoted, env))
