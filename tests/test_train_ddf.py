"""DDF training: layer by layer, an interrupted run resumes to exactly the weights of an uninterrupted one, export codes exactly."""

import numpy as np
import pytest
import torch

from ardmzip.models.export_ddf import export
from ardmzip.models.flow_files import load_flow
from ardmzip.models.ddf import DDFConfig, FloatDDF
from ardmzip.models.train_ddf import TOP, DDFTrainConfig, nets, train
from exact_checks import flow_round_trip
from test_train import fake_data

CONFIGS = {"cifar10": {"width": 8, "levels": 1},
           "cifar10-rgb8": {"classes": 8, "channels": 1, "scoring": "categorical", "onehot": True, "width": 8,
                            "levels": 1}}


@pytest.mark.parametrize("data", sorted(CONFIGS))
def test_interrupted_run_matches_an_uninterrupted_one_and_exports(tmp_path, data):
    root = fake_data(tmp_path / "data")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = DDFTrainConfig(batch=4, total_steps=3, eval_images=4, eval_every_s=1e9, data=data)
    try:
        assert train(CONFIGS[data], root, tmp_path / "straight", cfg, minutes=5, log=lambda s: None)
        messages = []
        assert not train(CONFIGS[data], root, tmp_path / "resumed", cfg, minutes=5, log=messages.append, max_steps=5)
        assert not (tmp_path / "resumed" / TOP).exists()
        assert train(CONFIGS[data], root, tmp_path / "resumed", cfg, minutes=5, log=messages.append)
    finally:
        torch.set_num_threads(old)
    assert "resumed from step 2 (" in " ".join(messages)  # the second net was stopped after 2 of its 3 steps
    for folder, _, _ in nets(FloatDDF(DDFConfig.from_dict(CONFIGS[data]))):
        a, b = (torch.load(tmp_path / run / folder / "checkpoint.pt", weights_only=True) for run in ("straight", "resumed"))
        assert a["step"] == b["step"] == 3
        for key in ("net", "ema"):
            assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    channels = 1 if data == "cifar10-rgb8" else 3
    counts = [torch.load(tmp_path / run / TOP, weights_only=True)["counts"] for run in ("straight", "resumed")]
    assert torch.equal(*counts) and counts[0].sum() == 20 * channels * 16 * 16  # 20 images, top: one sub-pixel of four

    padding = "per-level" if data == "cifar10" else None  # the coder's choice: training never pads
    export(tmp_path / "resumed", tmp_path / "m.safetensors", root, measure=2, padding=padding)
    model = load_flow(tmp_path / "m.safetensors")
    assert model.cfg.padding == (padding or "whole")
    x = np.random.default_rng(2).integers(0, model.classes, (9, 11, channels))
    assert np.array_equal(flow_round_trip(model, x)[0], x)
