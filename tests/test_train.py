"""Training smoke test on a tiny fake data folder: steps run, checkpoints resume, export loads."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ardmzip.models.ardm_net import NetConfig
from ardmzip.models.coding_model import load_coding_model
from ardmzip.models import export as export_module
from ardmzip.models.data import DataError, cifar10_train, pack_grid
from ardmzip.models.export import export
from ardmzip.models.integer_net import float_state_dict
from ardmzip.models.orders import dispersed_order
from ardmzip.models.planner import plan, plan_stages
from ardmzip.models.serialization import load_model, model_info
from ardmzip.models.train import TrainConfig, train


def fake_data(root):
    rng = np.random.default_rng(0)
    (root / "cifar10").mkdir(parents=True)
    for k in range(5):
        strip = rng.integers(0, 256, (4 * 32, 32, 3), dtype=np.uint8)
        Image.fromarray(strip).save(root / "cifar10" / f"train_x_{k}.png")
    np.save(root / "cifar10" / "test_x.npy", rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8))
    return root


@pytest.mark.parametrize("head,branching", [("categorical", 256), ("logistic-mixture", 4)])
def test_train_resume_and_export(tmp_path, head, branching):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=3, eval_images=4, eval_every_s=0.0,
                      net=NetConfig(width=8, dilations=(1,), head=head, branching=branching))
    out = tmp_path / "run"
    train(data, out, cfg, minutes=5, log=lambda s: None)
    first = torch.load(out / "checkpoint.pt", weights_only=True)
    assert first["step"] == 3
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["test_bpd_ema"] > 0
    cfg.total_steps = 5
    messages = []
    train(data, out, cfg, minutes=5, log=messages.append)
    assert any(m.startswith("resumed from step 3 ") for m in messages)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 5
    export(out, tmp_path / "m.safetensors")
    net = load_model(tmp_path / "m.safetensors")
    assert net.config.width == 8 and net.config.branching == branching
    info = model_info(tmp_path / "m.safetensors")
    assert info["train_steps"] == 5 and len(info["step_loss_bits"]) == 256
    assert info["step_loss_source"] == "training tracker"
    model = load_coding_model(tmp_path / "m.safetensors")
    assert model.alphabet_size == (256 if branching == 256 else branching) and model.step_loss is not None
    assert getattr(model, "share_by_loss", False) == (branching != 256)
    default = "dispersed" if branching == 256 else "random"  # dispersed was measured for OA-ARDMs only
    assert info["order"] == model.order_family == default
    assert info["objective"].startswith("order-agnostic ARDM (uniform t, random order)" if branching == 256
                                        else "depth-upscaling ARDM, branching 4")
    export(out, tmp_path / "r.safetensors", order="dispersed" if branching != 256 else "random")
    assert load_coding_model(tmp_path / "r.safetensors").order_family != default


def test_an_order_family_needs_the_coders_calls():
    with pytest.raises(ValueError, match="needs budgets"):
        TrainConfig(order="dispersed").plans()
    with pytest.raises(ValueError, match="needs the L_t"):
        TrainConfig(order="dispersed", budgets=(2, 6)).plans()
    with pytest.raises(ValueError, match="1 <= LO <= HI"):
        TrainConfig(order="dispersed", budgets=(6, 2), plan_step_loss=(1.0,)).plans()
    with pytest.raises(ValueError, match="unknown generation order family"):
        train(Path("unused"), Path("unused"), TrainConfig(order="spiral"), minutes=1)


def _call_run(tmp_path, data, out="run", **changes):
    step_loss = tuple(round(8.0 - 4.0 * j / 255, 4) for j in range(256))
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4, eval_every_s=0.0, order="dispersed", budgets=(2, 6),
                      plan_step_loss=step_loss, net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    for k, v in changes.items():
        setattr(cfg, k, v)
    train(data, tmp_path / out, cfg, minutes=5, log=lambda s: None)
    return cfg


def test_a_run_on_the_coders_calls_ships_its_family_and_the_step_loss_it_planned_on(tmp_path):
    data = fake_data(tmp_path / "data")
    cfg = _call_run(tmp_path, data)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["order"] == "dispersed"
    assert json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])["test_bpd_ema"] > 0
    export(tmp_path / "run", tmp_path / "m.safetensors")
    info = model_info(tmp_path / "m.safetensors")
    assert info["step_loss_bits"] == list(cfg.plan_step_loss) and all(info["step_loss_seen"])
    assert "budgets 2 to 6" in info["step_loss_source"]
    assert info["objective"].startswith("ARDM trained on the coder's calls in dispersed orders at budgets 2 to 6")
    model = load_coding_model(tmp_path / "m.safetensors")
    assert info["order"] == model.order_family == "dispersed"
    for budget in (2, 4, 6):  # the coder's calls are the ones trained on
        calls = model.schedule((32, 32, 3), budget)
        assert [0, *np.cumsum([len(c) for c in calls])] == plan(cfg.plan_step_loss, 3072, budget).tolist()
        assert np.array_equal(np.concatenate(calls), dispersed_order((32, 32, 3)))
    images = np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="no calibration"):
        export(tmp_path / "run", tmp_path / "c.safetensors", calibration=images)
    with pytest.raises(ValueError, match="trained in dispersed orders"):
        export(tmp_path / "run", tmp_path / "r.safetensors", order="random")
    assert not (tmp_path / "r.safetensors").exists()


def test_a_depth_upscaling_run_on_the_coders_calls_codes_in_the_calls_it_trained_on(tmp_path):
    data = fake_data(tmp_path / "data")
    net = NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2, branching=4)
    cfg = _call_run(tmp_path, data, net=net, budgets=(4, 12))
    assert json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])["test_bpd_ema"] > 0
    export(tmp_path / "run", tmp_path / "m.safetensors")
    info = model_info(tmp_path / "m.safetensors")
    assert info["step_loss_bits"] == list(cfg.plan_step_loss) and info["stage_budgets"] == "planned"
    assert info["objective"].startswith("depth-upscaling ARDM, branching 4, trained on the coder's calls in "
                                        "dispersed orders at budgets 4 to 12")
    model = load_coding_model(tmp_path / "m.safetensors")
    assert model.order_family == "dispersed" and model.share_by_loss
    for budget in (4, 7, 12):
        calls = model.schedule((4, 32, 32, 3), budget)
        edges = np.unique(np.concatenate([s * 3072 + e for s, e in enumerate(plan_stages(cfg.plan_step_loss, 4, 3072, budget))]))
        assert [0, *np.cumsum([len(c) for c in calls])] == edges.tolist()


def test_a_run_with_grey_planes_logs_both_and_records_them(tmp_path):
    """Grey planes train beside colour images; the planner's L_t (the tracker) stays colour images'."""
    data = fake_data(tmp_path / "data")
    messages = []
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4, eval_every_s=0.0, grey=0.5,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    train(data, tmp_path / "run", cfg, minutes=5, log=messages.append)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["grey"] == 0.5
    assert any(m.startswith("test colour ") and " grey " in m for m in messages)
    export(tmp_path / "run", tmp_path / "m.safetensors")
    assert model_info(tmp_path / "m.safetensors")["objective"].endswith("50% of each batch as grey planes")
    cfg.grey, cfg.total_steps = 1.0, 2
    train(data, tmp_path / "all-grey", cfg, minutes=5, log=lambda s: None)
    assert not torch.load(tmp_path / "all-grey" / "checkpoint.pt", weights_only=True)["tracker"]["seen"].any()


@pytest.mark.parametrize("grey", [-0.1, 1.5])
def test_train_refuses_a_grey_fraction_outside_0_to_1_before_it_starts(tmp_path, grey):
    cfg = TrainConfig(batch=4, total_steps=1, eval_images=4, grey=grey)
    with pytest.raises(ValueError, match="fraction from 0 to 1"):
        train(fake_data(tmp_path / "data"), tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("changes", [{"budgets": (2, 8)}, {"order": "random", "budgets": None}, {"grey": 0.25}])
def test_a_resumed_run_keeps_its_objective(tmp_path, changes):
    data = fake_data(tmp_path / "data")
    _call_run(tmp_path, data)
    with pytest.raises(ValueError, match="another objective"):
        _call_run(tmp_path, data, total_steps=3, **changes)
    _call_run(tmp_path, data, total_steps=3)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 3


def test_export_measures_the_step_loss_on_calibration_images(tmp_path):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=1, eval_images=4,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    train(data, tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    images = np.random.default_rng(1).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    export(tmp_path / "run", tmp_path / "m.safetensors", calibration=images)
    info = model_info(tmp_path / "m.safetensors")
    assert info["step_loss_source"] == "measured on 2 training images"
    tracker = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["tracker"]["values"]
    assert len(info["step_loss_bits"]) == len(tracker) and all(info["step_loss_seen"])
    assert info["step_loss_bits"] != [round(float(v), 4) for v in tracker]


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    data = fake_data(tmp_path / "data")
    torch.set_num_threads(1)

    def run(out, *totals):
        for total in totals:
            cfg = TrainConfig(batch=4, total_steps=total, eval_images=4, eval_every_s=0.0,
                              net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
            train(data, out, cfg, minutes=5, log=lambda s: None)
        return torch.load(out / "checkpoint.pt", weights_only=True)

    straight, resumed = run(tmp_path / "straight", 4), run(tmp_path / "resumed", 2, 4)
    assert straight["step"] == resumed["step"] == 4
    for key in ("net", "ema", "tracker"):
        assert straight[key].keys() == resumed[key].keys()
        assert all(torch.equal(straight[key][k], resumed[key][k]) for k in straight[key])


def test_a_new_run_starts_from_another_runs_weights(tmp_path):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4, net=NetConfig(width=8, dilations=(1,)))
    train(data, tmp_path / "oa", cfg, minutes=5, log=lambda s: None)
    source = torch.load(tmp_path / "oa" / "checkpoint.pt", weights_only=True)["net"]
    up = TrainConfig(batch=4, total_steps=0, eval_images=4, net=NetConfig(width=8, dilations=(1,), branching=4))
    messages = []
    train(data, tmp_path / "up", up, minutes=5, log=messages.append, init_from=tmp_path / "oa" / "checkpoint.pt")
    state = torch.load(tmp_path / "up" / "checkpoint.pt", weights_only=True)
    assert any(m.startswith("initialized from") for m in messages)
    assert all(torch.equal(state["ema"][k], v) for k, v in source.items())


def test_a_new_run_starts_from_a_model_file(tmp_path):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    train(data, tmp_path / "first", cfg, minutes=5, log=lambda s: None)
    export(tmp_path / "first", tmp_path / "first.safetensors")
    shipped = load_model(tmp_path / "first.safetensors")
    messages = []
    train(data, tmp_path / "second", TrainConfig(batch=4, total_steps=0, eval_images=4, net=cfg.net), minutes=5,
          log=messages.append, init_from=tmp_path / "first.safetensors")
    state = torch.load(tmp_path / "second" / "checkpoint.pt", weights_only=True)
    assert "initialized from " + str(tmp_path / "first.safetensors") in messages
    assert all(torch.equal(state["ema"][k], v) for k, v in float_state_dict(shipped.t, shipped.config).items())
    assert torch.equal(state["ema"]["stem.weight"], state["net"]["stem.weight"])



@pytest.mark.parametrize("better", ["ema", "raw"])
def test_best_weights_are_the_lower_bound_on_selection_images(tmp_path, monkeypatch, better):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=3, eval_images=4, net=NetConfig(width=8, dilations=(1,)))
    train(data, tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    better_weights = state["ema" if better == "ema" else "net"]
    images = np.random.default_rng(2).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)

    def fake_bound(net, x, family, plans=None, grey=0.0):
        assert x.shape == (3, 3, 4, 4) and family == "random"  # the run's own objective
        assert plans is None and grey == 0.0
        same = all(torch.equal(v, better_weights[k]) for k, v in net.state_dict().items())
        return 4.0 if same else 5.0

    monkeypatch.setattr(export_module, "evaluate", fake_bound)
    export(tmp_path / "run", tmp_path / "best.safetensors", "best", selection=images)
    export(tmp_path / "run", tmp_path / "direct.safetensors", better)
    info = model_info(tmp_path / "best.safetensors")
    expected = "4.0000 (EMA) vs 5.0000" if better == "ema" else "5.0000 (EMA) vs 4.0000"
    assert "chosen on 3 CIFAR-10 training images in random orders" in info["weights"] and expected in info["weights"]
    best, direct = load_file(tmp_path / "best.safetensors"), load_file(tmp_path / "direct.safetensors")
    assert best.keys() == direct.keys() and all(torch.equal(best[k], direct[k]) for k in best)
    with pytest.raises(ValueError, match="selection"):
        export(tmp_path / "run", tmp_path / "x.safetensors", "best")


def test_a_data_folder_with_the_first_strips_only_trains_on_those(tmp_path):
    """A lent GPU machine takes only part of CIFAR-10 train: the run and its model card say so; a gap in the
    strips is refused."""
    data = fake_data(tmp_path / "data")
    for k in (2, 3, 4):
        (data / "cifar10" / f"train_x_{k}.png").unlink()
    assert len(cifar10_train(data)) == 8
    messages = []
    train(data, tmp_path / "run", TrainConfig(batch=4, total_steps=1, eval_images=4,
                                               net=NetConfig(width=8, dilations=(1,))), minutes=5, log=messages.append)
    assert any(m.startswith("training on 8 of CIFAR-10's 50,000") for m in messages)
    export(tmp_path / "run", tmp_path / "m.safetensors")
    assert model_info(tmp_path / "m.safetensors")["train_data"].startswith("the first 8 of CIFAR-10's 50,000")
    (data / "cifar10" / "train_x_0.png").unlink()
    with pytest.raises(DataError, match="strips missing"):
        cifar10_train(data)


@pytest.mark.parametrize("images", [4, 200])
def test_strips_packed_as_webp_grids_load_as_the_same_images(tmp_path, images):
    """What a GPU machine is sent: each strip a WebP-lossless grid of its images, exactly the same pixels."""
    rng = np.random.default_rng(images)
    strips = [rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8) for _ in range(2)]
    (tmp_path / "cifar10").mkdir()
    for k, strip in enumerate(strips):
        grid = pack_grid(strip)
        assert grid.shape == ((2 * 32, 100 * 32, 3) if images == 200 else (32, images * 32, 3))
        Image.fromarray(grid).save(tmp_path / "cifar10" / f"train_x_{k}.webp", lossless=True, quality=100, exact=True)
    assert np.array_equal(cifar10_train(tmp_path), np.concatenate(strips))
    Image.fromarray(strips[0].reshape(-1, 32, 3)).save(tmp_path / "cifar10" / "train_x_3.png")
    with pytest.raises(DataError, match="strips missing"):  # strip 2 is missing before it
        cifar10_train(tmp_path)


def test_bfloat16_convolutions_stay_close_to_float32_and_only_inside():
    from ardmzip.models.ardm_net import QConv2d, bfloat16_convs
    from tiny_model import tiny_float_net

    net = tiny_float_net(head="logistic-mixture")
    inputs = torch.randint(-128, 128, (2, 7, 9, 11))
    exact = net(inputs)
    with bfloat16_convs(net):
        assert all(m.bfloat16 for m in net.modules() if isinstance(m, QConv2d))
        low = net(inputs)
    assert low.dtype == torch.float32 and not torch.equal(low, exact)
    # a random net (the trained v6's loss moves by 0.002 bits/dim): a few percent, not a broken scale
    assert (low - exact).abs().mean() <= 0.05 * exact.abs().mean()
    assert torch.equal(net(inputs), exact)  # float32 again outside
    with bfloat16_convs(net, on=False):
        assert torch.equal(net(inputs), exact)


def test_a_bfloat16_run_trains_and_records_it(tmp_path):
    data = fake_data(tmp_path / "data")
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4, eval_every_s=0.0, bfloat16=True,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture"))
    train(data, tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["bfloat16"] is True
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 2
