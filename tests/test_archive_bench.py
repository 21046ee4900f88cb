"""The dataset-mode benchmark measures real bytes, decodes everything and compares like with like."""

import numpy as np

from ardmzip.benchmarks.archive import measure_model, table


def test_single_against_archive_rows(tiny_registry):
    rng = np.random.default_rng(0)
    imgs = [(f"img{i}", rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)) for i in range(8)]
    r = measure_model("tiny", 2, imgs, (0, 1, 2), 1, lambda msg: None)
    assert r["dims"] == 8 * 60 and r["single"]["bpd"] > 0 and r["model_id"] == tiny_registry.get("tiny").model_id
    zero, one = r["archives"]["0"], r["archives"]["1"]
    assert zero["bpd"] < r["single"]["bpd"]  # one header and one final coder state for the set
    assert zero["initial_images"] == 8 and 0 < one["initial_images"] < 8
    assert abs(one["initial_bits_needed"] - np.log2(np.arange(1, 61, dtype=float)).sum()) < 1e-6
    assert one["gain"]["images"] == 8 - one["initial_images"]
    assert len(one["gain_bits_per_latent_image"]) == one["gain"]["images"]
    text = table([r])
    assert "tiny (2)" in text and f"{r['single']['bpd']:.4f}" in text


def test_table_rows_have_as_many_cells_as_its_header(tiny_registry):
    rng = np.random.default_rng(1)
    imgs = [(f"img{i}", rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)) for i in range(3)]
    for orders in ((0,), (0, 1)):
        lines = table([measure_model("tiny", 2, imgs, orders, 1, lambda msg: None)]).splitlines()
        assert len({line.count("|") for line in lines}) == 1
