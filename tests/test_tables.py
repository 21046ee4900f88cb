"""The documentation's result tables: generated from the committed summaries, and a hand edit fails."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ardmzip.benchmarks.figures import Source, Table, TableError, render
from ardmzip.benchmarks.regions import RegionError, regions, rewrite
from ardmzip.benchmarks.tables import PAGES, RESULTS, TablesConfig, main, regenerated, stale

ROOT = Path(__file__).resolve().parents[1]


def test_the_pages_tables_are_those_of_the_summaries(monkeypatch):
    """README.md and docs/results.md as committed: every generated table matches its summaries."""
    monkeypatch.chdir(ROOT)
    cfg = TablesConfig()
    assert {page: stale(cfg, page) for page in PAGES} == {page: [] for page in PAGES}
    result = CliRunner().invoke(main, ["--check"])
    assert result.exit_code == 0, result.output


def test_every_table_is_placed_on_a_page():
    placed = {r.name for page in PAGES for r in regions((ROOT / page).read_text(), str(page))}
    assert placed == set(TablesConfig().tables)


def tiny(tmp_path: Path) -> TablesConfig:
    """One run of two codecs, a table of them, and a page with that table's region."""
    run = tmp_path / "results" / "run1"
    run.mkdir(parents=True)
    summaries = [{"dataset": "cifar10", "codec": "png", "set_bpd": 5.8664, "images": 2000, "encode_s": 0.00061},
                 {"dataset": "cifar10", "codec": "webp", "set_bpd": 4.70301, "images": 2000, "encode_s": 0.0412},
                 {"dataset": "kodak", "codec": "webp", "set_bpd": 3.1659, "images": 24, "encode_s": 10.66}]
    (run / "summary.json").write_text(json.dumps({"summaries": summaries}))
    sources = {"png": Source("run1", (("codec", "png"),)),
               "webp": Source("run1", (("codec", "webp"), ("dataset", "cifar10")))}
    table = Table(("codec", "bits/dim ({png:images} images)", "encode ms"),
                  (("PNG", "{png:bpd}", "{png:enc_ms:.1f}"), ("WebP", "**{webp:bpd}**", "{webp:enc_ms}")),
                  "WebP is the smaller.")
    return TablesConfig((tmp_path / "page.md",), tmp_path / "results", {"t": table}, sources)


def test_a_table_renders_figures_from_the_summary(tmp_path):
    cfg = tiny(tmp_path)
    assert render(cfg.tables["t"], cfg.sources, cfg.results) == (
        "| codec | bits/dim (2,000 images) | encode ms |\n|---|---|---|\n"
        "| PNG | 5.866 | 0.6 |\n| WebP | **4.703** | 41 |\n\nWebP is the smaller.\n")


def test_a_region_is_rewritten_and_the_rest_kept(tmp_path):
    cfg = tiny(tmp_path)
    page = cfg.pages[0]
    page.write_text("# Title\n\nBefore.\n<!-- table: t -->\n| stale |\n<!-- end table -->\nAfter.\n")
    text = regenerated(cfg, page)
    assert text.startswith("# Title\n\nBefore.\n<!-- table: t -->\n\n| codec |")
    assert text.endswith("WebP is the smaller.\n\n<!-- end table -->\nAfter.\n")
    page.write_text(text)
    assert regenerated(cfg, page) == text
    assert rewrite(text, lambda name: "| x |\n") == (
        "# Title\n\nBefore.\n<!-- table: t -->\n\n| x |\n\n<!-- end table -->\nAfter.\n")


def test_a_hand_edit_of_a_table_is_stale(tmp_path):
    cfg = tiny(tmp_path)
    page = cfg.pages[0]
    page.write_text("Text.\n<!-- table: t -->\n<!-- end table -->\nMore text.\n")
    assert stale(cfg, page) == ["t"]  # never generated
    page.write_text(regenerated(cfg, page))
    assert stale(cfg, page) == []
    page.write_text(page.read_text().replace("More text.", "Other text."))  # outside: the author's
    assert stale(cfg, page) == []
    page.write_text(page.read_text().replace("4.703", "4.700"))
    assert stale(cfg, page) == ["t"]


def test_check_mode_exits_1_with_one_line(tmp_path, monkeypatch):
    cfg = tiny(tmp_path)
    page = cfg.pages[0]
    page.write_text("<!-- table: t -->\n<!-- end table -->\n")
    monkeypatch.setattr("ardmzip.benchmarks.tables.TABLES", cfg.tables)
    monkeypatch.setattr("ardmzip.benchmarks.tables.SOURCES", cfg.sources)
    args = [str(page), "--results", str(cfg.results)]
    result = CliRunner().invoke(main, args + ["--check"])
    assert result.exit_code == 1 and f"{page}: table 't' differs" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert CliRunner().invoke(main, args).output == f"wrote {page}\n"
    assert CliRunner().invoke(main, args + ["--check"]).exit_code == 0


@pytest.mark.parametrize("text, message", [
    ("<!-- table: nope -->\n<!-- end table -->\n", "page.md: table 'nope': unknown table (known: t)"),
    ("<!-- table: t -->\n| a |\n", "page.md: table 't' has no '<!-- end table -->'"),
    ("<!-- table: t -->\n<!-- table: t -->\n<!-- end table -->\n", "has no '<!-- end table -->' before the next"),
    ("text\n<!-- end table -->\n", "page.md:2: '<!-- end table -->' without a '<!-- table: NAME -->'"),
    ("<!-- table: two words -->\n<!-- end table -->\n", "page.md:1: malformed marker"),
])
def test_bad_markers_are_clear_errors(tmp_path, monkeypatch, text, message):
    cfg = tiny(tmp_path)
    monkeypatch.chdir(tmp_path)
    Path("page.md").write_text(text)
    with pytest.raises(RegionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        regenerated(cfg, Path("page.md"))


@pytest.mark.parametrize("cell, message", [
    ("{nope:bpd}", "unknown source 'nope'"),
    ("{gone:bpd}", "no summary"),
    ("{both:bpd}", "2 records with codec=webp"),
    ("{png:nll}", "no figure 'nll'"),
])
def test_a_figure_that_is_not_in_the_summaries_is_an_error(tmp_path, cell, message):
    cfg = tiny(tmp_path)
    sources = {**cfg.sources, "gone": Source("run2", (("codec", "png"),)),
               "both": Source("run1", (("codec", "webp"),))}
    with pytest.raises(TableError, match=message):
        render(Table(("a",), ((cell,),)), sources, cfg.results)


def test_the_default_results_are_the_committed_runs():
    assert (ROOT / RESULTS).is_dir() and all((ROOT / p).is_file() for p in PAGES)
