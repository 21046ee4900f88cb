"""Data-parallel training under torchrun: two CPU processes over gloo make the updates of one process at the
doubled batch, and a run resumes under another number of processes."""

import json
import os
import subprocess
import sys

import pytest
import torch

from ardmzip.models.ardm_net import ARDMNet, NetConfig
from ardmzip.models.distributed import World
from ardmzip.models.idf import IDFConfig
from ardmzip.models.train import TrainConfig, train
from ardmzip.models.train_flow import FlowTrainConfig, make_flow, train as train_flow
from tests.test_train import fake_data

NET = ["--width", "8", "--dilations", "1", "--head", "logistic-mixture", "--mixtures", "2"]


def torchrun(processes: int, data, out, batch: int, steps: int, *extra: str,
             module: str = "ardmzip.models.train") -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    net = NET if module.endswith(".train") else []
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
         "-m", module, "--data-dir", str(data), "--out", str(out), "--batch", str(batch),
         "--total-steps", str(steps), "--threads", "1", "--minutes", "5", *net, *extra],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def assert_same_updates(one: dict, two: dict, start: dict) -> None:
    """Both runs moved from `start`, and apart by far less than they moved."""
    for key in ("net", "ema"):
        moved = max(float((one[key][k] - start[k]).abs().max()) for k in start)
        apart = max(float((one[key][k] - two[key][k]).abs().max()) for k in start)
        assert apart < 1e-3 * moved, (key, moved, apart)


def test_each_process_trains_its_shard_of_one_global_batch():
    world = World(rank=1, size=3)
    assert world.shard(4) == slice(4, 8) and not world.main and World().main
    assert [World(r, 3).shard(4) for r in range(3)] == [slice(0, 4), slice(4, 8), slice(8, 12)]


@pytest.mark.parametrize("grey", ["0", "0.25"])
def test_two_processes_match_one_at_the_doubled_batch(tmp_path, grey):
    data = fake_data(tmp_path / "data")
    torch.set_num_threads(1)
    cfg = TrainConfig(batch=8, total_steps=3, eval_images=4, grey=float(grey), lr=1.0,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    train(data, tmp_path / "one", cfg, minutes=5, log=lambda s: None)
    done = torchrun(2, data, tmp_path / "two", 4, 3, "--grey", grey, "--lr", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert one["step"] == two["step"] == 3 and two["world_size"] == 2
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2
    torch.manual_seed(0)
    assert_same_updates(one, two, ARDMNet(cfg.net).state_dict())
    assert torch.allclose(one["tracker"]["values"], two["tracker"]["values"], rtol=1e-6, atol=1e-6)
    assert torch.equal(one["tracker"]["seen"], two["tracker"]["seen"])


def test_a_run_resumes_under_another_number_of_processes(tmp_path):
    data = fake_data(tmp_path / "data")
    done = torchrun(2, data, tmp_path / "run", 2, 2)
    assert done.returncode == 0, done.stderr[-3000:]
    cfg = TrainConfig(batch=4, total_steps=4, eval_images=4,
                      net=NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2))
    messages = []
    train(data, tmp_path / "run", cfg, minutes=5, log=messages.append)
    assert any(m.startswith("resumed from step 2 ") for m in messages)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4 and state["world_size"] == 1


def test_a_flow_trains_alike_on_two_processes(tmp_path):
    """Its random crops are drawn for the whole batch, each process keeping its shard of them."""
    data = fake_data(tmp_path / "data")
    torch.set_num_threads(1)
    model = {"levels": 2, "couplings": 1, "width": 8, "blocks": 1, "mixtures": 2}
    cfg = FlowTrainConfig(batch=8, total_steps=3, eval_images=4, crop=16, lr=1.0)
    train_flow("idf", model, data, tmp_path / "one", cfg, minutes=5, log=lambda s: None)
    done = torchrun(2, data, tmp_path / "two", 4, 3, "--family", "idf", "--model", json.dumps(model), "--crop", "16",
                    "--lr", "1", module="ardmzip.models.train_flow")
    assert done.returncode == 0, done.stderr[-3000:]
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    torch.manual_seed(0)
    assert_same_updates(one, two, make_flow("idf", IDFConfig.from_dict(model).to_dict()).state_dict())
