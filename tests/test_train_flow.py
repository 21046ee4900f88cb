"""Flow training: steps run, a resumed run continues from exactly the same state, export codes exactly."""

import numpy as np
import pytest
import torch
from PIL import Image

import ardmzip
from ardmzip.models.export_flow import export
from ardmzip.models.train_flow import FlowTrainConfig, train
from test_train import fake_data

CONFIGS = {"idf": {"levels": 2, "couplings": 1, "width": 8, "blocks": 1, "mixtures": 2},
           "discrete-flow": {"couplings": 1, "width": 8, "blocks": 1, "scales": 3}}


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_resumed_run_matches_an_uninterrupted_one_and_exports(tmp_path, family):
    data = fake_data(tmp_path / "data")
    torch.set_num_threads(1)

    def run(out, *totals):
        messages = []
        for total in totals:
            cfg = FlowTrainConfig(batch=4, total_steps=total, eval_images=4, eval_every_s=0.0, crop=16)
            train(family, CONFIGS[family], data, out, cfg, minutes=5, log=messages.append)
        return torch.load(out / "checkpoint.pt", weights_only=True), messages

    straight, _ = run(tmp_path / "straight", 4)
    resumed, messages = run(tmp_path / "resumed", 2, 4)
    assert any(m.startswith("resumed from step 2") for m in messages)
    assert straight["step"] == resumed["step"] == 4
    for key in ("net", "ema"):
        assert straight[key].keys() == resumed[key].keys()
        assert all(torch.equal(straight[key][k], resumed[key][k]) for k in straight[key])

    model = tmp_path / "m.safetensors"
    export(tmp_path / "resumed", model)
    im = Image.fromarray(np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8))
    data = ardmzip.compress(im, model=model, threads=1)
    assert np.array_equal(np.asarray(ardmzip.decompress(data, model=model, threads=1)), np.asarray(im))
