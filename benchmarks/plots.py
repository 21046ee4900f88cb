"""Figures of a run: bits/dim per codec and dataset, bits/dim against time (budget as the knob),
and coded bits/dim against the model's NLL. Built on matplotlib's Figure, with no pyplot state.
"""

from __future__ import annotations

from pathlib import Path

from .measure import Row
from .quoted import Quoted
from .summary import Summary


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure  # optional dependency, ardmzip[bench]
    except ImportError:
        raise ModuleNotFoundError("plots need matplotlib: pip install 'ardmzip[bench]'") from None
    return Figure(figsize=(width, height), layout="constrained")


def bpd_per_codec(summaries: list[Summary], quoted: list[Quoted], path: Path) -> None:
    """Whole-set bits/dim, one group of bars per dataset; quoted figures hatched and labelled so."""
    datasets = list(dict.fromkeys(s.dataset for s in summaries))
    bars = list(dict.fromkeys(s.codec for s in summaries if s.set_bpd is not None))
    bars += list(dict.fromkeys(f"{q.method} (quoted)" for q in quoted))
    value = {(s.dataset, s.codec): s.set_bpd for s in summaries if s.set_bpd is not None}
    value.update({(q.dataset, f"{q.method} (quoted)"): q.bpd for q in quoted})
    fig = _figure(3.0 + 0.25 * len(datasets) * len(bars), 4.0)
    ax = fig.subplots()
    width = 0.8 / max(1, len(bars))
    for k, name in enumerate(bars):
        xs = [i for i, d in enumerate(datasets) if (d, name) in value]
        ax.bar([x - 0.4 + (k + 0.5) * width for x in xs], [value[(datasets[x], name)] for x in xs], width,
               label=name, hatch="//" if name.endswith("(quoted)") else None,
               alpha=0.5 if name.endswith("(quoted)") else 1.0)
    ax.set_xticks(range(len(datasets)), datasets)
    ax.set_ylabel("bits per dimension (whole set)")
    ax.set_title("Lossless bits/dim by codec (lower is better)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path, dpi=110)


def bpd_vs_time(summaries: list[Summary], path: Path) -> None:
    """Bits/dim against encode+decode seconds per image; a model's budgets are joined by a line."""
    datasets = list(dict.fromkeys(s.dataset for s in summaries))
    cols = min(2, len(datasets))
    rows = -(-len(datasets) // cols)
    fig = _figure(5.5 * cols, 4.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).flat
    for ax, dataset in zip(axes, datasets):
        done = [s for s in summaries if s.dataset == dataset and s.set_bpd is not None]
        for s in (s for s in done if s.budget is None):
            ax.scatter(s.encode_s + s.decode_s, s.set_bpd)
            ax.annotate(s.codec, (s.encode_s + s.decode_s, s.set_bpd), fontsize="small",
                        xytext=(4, 2), textcoords="offset points")
        models: dict[str, list[Summary]] = {}
        for s in done:
            if s.budget is not None:
                model, _, search = s.codec.rpartition(f"-b{s.budget}")  # ardmzip-M-bB or ardmzip-M-bB-sN
                models.setdefault(model + search, []).append(s)
        for model, points in models.items():
            points.sort(key=lambda s: s.budget)
            ax.plot([s.encode_s + s.decode_s for s in points], [s.set_bpd for s in points], "o-", label=model)
            for s in points:
                ax.annotate(f"budget {s.budget}", (s.encode_s + s.decode_s, s.set_bpd), fontsize="x-small",
                            xytext=(4, -8), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("encode + decode seconds per image")
        ax.set_ylabel("bits per dimension (whole set)")
        ax.set_title(dataset)
        if models:
            ax.legend(fontsize="small")
    for ax in list(axes):  # the empty cell of an odd grid
        ax.set_visible(False)
    fig.savefig(path, dpi=110)


def coded_vs_nll(rows: list[Row], path: Path) -> bool:
    """Per image, the file's bits/dim against the model's ideal -log2 p; False if no row has an NLL."""
    rows = [r for r in rows if r.lossless and r.nll_bpd is not None]
    if not rows:
        return False
    fig = _figure(5.0, 5.0)
    ax = fig.subplots()
    for dataset, codec in dict.fromkeys((r.dataset, r.codec) for r in rows):
        mine = [r for r in rows if (r.dataset, r.codec) == (dataset, codec)]
        ax.scatter([r.nll_bpd for r in mine], [r.bpd for r in mine], s=8, label=f"{codec}, {dataset}")
    lo = min(min(r.nll_bpd, r.bpd) for r in rows)
    hi = max(max(r.nll_bpd, r.bpd) for r in rows)
    ax.plot([lo, hi], [lo, hi], "k--", linewidth=0.8, label="coded = NLL")
    ax.set_xlabel("model NLL, bits/dim")
    ax.set_ylabel("coded file, bits/dim")
    ax.set_title("Coding overhead per image")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=110)
    return True
