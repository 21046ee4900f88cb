"""The GPU-run scripts of .device/, dry-run on the CPU: pack the data, train a few steps, bring the checkpoint
back in pieces, and resume from them in a second call, as successive GPU leases add up to one run."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ardmzip.models.data import cifar10_train, photo_train, photo_val
from tests.test_train import fake_data

ROOT = Path(__file__).resolve().parents[1]
ARGS = "--width 8 --dilations 1 --head logistic-mixture --mixtures 2 --batch 4 --threads 1 --grey 0.25"


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(ROOT / ".device" / name), *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def test_pack_train_unpack_and_resume_on_the_cpu(tmp_path):
    data = fake_data(tmp_path / "data")
    pack, runs, ckpt = tmp_path / "gpu-data", tmp_path / "gpu-runs", tmp_path / "gpu-ckpt"
    packed = script("pack", str(data), PACK_DIR=str(pack), WHEEL="0")
    assert "cifar10/train_x_4: 4 images" in packed.stdout
    assert sorted(p.name for p in (pack / "cifar10").iterdir()) == ["test_x.npy"] + [f"train_x_{k}.webp" for k in range(5)]
    assert np.array_equal(cifar10_train(pack), cifar10_train(data))

    env = dict(PACK_DIR=str(pack), GPU_RUNS=str(runs), GPU_CKPT=str(ckpt), DEVICE="cpu", MINUTES="2", STEPS="3",
               TRAIN_ARGS=ARGS, BENCH="0", EVAL_MINUTES="0")
    first = tmp_path / "out1"
    script("train", **env, OUT=str(first))
    assert sorted(p.name for p in first.iterdir()) == ["checkpoint.pt.part00", "config.json", "log.jsonl", "run.log"]
    assert torch.load(first / "checkpoint.pt.part00", weights_only=True)["step"] == 3
    assert json.loads((first / "config.json").read_text())["train"]["total_steps"] == 3

    script("unpack", str(first), GPU_CKPT=str(ckpt), RUN=str(tmp_path / "run"))
    second = tmp_path / "out2"
    done = script("train", **{**env, "STEPS": "5"}, OUT=str(second))
    assert "resumed from step 3 " in done.stdout
    state = torch.load(second / "checkpoint.pt.part00", weights_only=True)
    assert state["step"] == 5 and "gen" in state and "opt" in state and "tracker" in state


def test_a_checkpoint_comes_back_in_pieces_that_fit_the_devices_file_limit(tmp_path):
    """Files come back at most 16 MiB each: a larger checkpoint is split, and unpack joins the pieces."""
    big = {"w": torch.arange(5 * 2**20, dtype=torch.float32), "step": 7, "minutes": 1.5}  # 20 MiB
    torch.save(big, tmp_path / "checkpoint.pt")
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["split", "-b", "15m", "-d", "-a", "2", str(tmp_path / "checkpoint.pt"),
                    str(out / "checkpoint.pt.part")], check=True)
    assert all(p.stat().st_size <= 16 * 2**20 for p in out.iterdir()) and len(list(out.iterdir())) == 2
    for name in ("config.json", "log.jsonl"):
        (out / name).write_text("{}")
    ckpt = tmp_path / "gpu-ckpt"
    env = {**os.environ, "GPU_CKPT": str(ckpt), "RUN": str(tmp_path / "run")}
    done = subprocess.run([str(ROOT / ".device" / "unpack"), str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "step 7, 1.5 min trained" in done.stdout, done.stderr
    assert torch.equal(torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["w"], big["w"])


def test_photos_are_packed_in_whole_rows_of_a_hundred_crops(tmp_path):
    """PHOTOS=1 packs the validation crops and each training strip's first multiple of 100 crops."""
    rng = np.random.default_rng(3)
    (tmp_path / "data" / "photos").mkdir(parents=True)
    strips = [rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8) for n in (100, 130)]
    for k, strip in enumerate(strips):
        Image.fromarray(strip.reshape(-1, 64, 3)).save(tmp_path / "data" / "photos" / f"train_{k}.png")
    val = rng.integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    np.save(tmp_path / "data" / "photos" / "val_x.npy", val)
    pack = tmp_path / "gpu-data"
    script("pack", str(tmp_path / "data"), PACK_DIR=str(pack), WHEEL="0", PHOTOS="1")
    assert sorted(p.name for p in (pack / "photos").iterdir()) == ["train_0.webp", "train_1.webp", "val_x.webp"]
    assert np.array_equal(photo_train(pack), np.concatenate([strips[0], strips[1][:100]]))
    assert np.array_equal(photo_val(pack), val)
