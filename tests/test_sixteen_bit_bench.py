"""The 16-bit benchmark writes its rows (summary.json) and table (table.md), on small real 16-bit crops."""

import json

import imagecodecs
import numpy as np
from click.testing import CliRunner
from PIL import Image

from ardmzip.benchmarks import sixteen_bit
from conftest import FIXTURES


def test_writes_summary_and_table(tiny_registry, tmp_path, monkeypatch):
    crops = {"dem crop": np.asarray(Image.open(FIXTURES / "dem_crop48x40_16bit.png")),
             "rgb crop": imagecodecs.imread((FIXTURES / "kodim23_resampled37x29_16bit.png").read_bytes())}
    monkeypatch.setattr(sixteen_bit, "images", lambda data_dir: crops)
    r = CliRunner().invoke(sixteen_bit.main, ["--budget", "1", "--out", str(tmp_path / "out")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = summary["rows"]
    assert [(row["image"], row["codec"]) for row in rows][4:6] == [("dem crop", "ardmzip budget 1"),
                                                                  ("rgb crop", "PNG (level 9)")]
    assert len(rows) == 10 and all(row["lossless"] for row in rows)
    ours = rows[4]
    assert ours["bits_per_dim"] == 8 * ours["bytes"] / (48 * 40) and ours["model_nll"] > 0
    table = (tmp_path / "out" / "table.md").read_text()
    assert table.count("\n") == 12 and r.stdout == table  # printed row by row as measured
    assert "machine" in summary["environment"] and summary["config"]["budgets"] == [1]
