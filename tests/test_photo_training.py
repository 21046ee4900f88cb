"""Training on the natural-photo crops: loading, random sub-crops, mixing with CIFAR-10, evaluation on the
photo validation crops, and what the model card says."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ardmzip.models.ardm_net import NetConfig
from ardmzip.models.data import DataError, pack_grid, photo_train, photo_val, train_data_text
from ardmzip.models.export import export
from ardmzip.models.export_flow import export as export_flow
from ardmzip.models.run_loop import RunConfig, evaluation_images, training_batch, training_sources
from ardmzip.models.serialization import model_info
from ardmzip.models.train import TrainConfig, train
from ardmzip.models.train_flow import FlowTrainConfig, train as train_flow
from tests.test_train import fake_data

NET = NetConfig(width=8, dilations=(1,), head="logistic-mixture", mixtures=2)


def fake_photos(root, webp: bool = False):
    """Two strips of 64x64 crops (3 and 2 of them) and 4 validation crops, as the shared data lays them out."""
    rng = np.random.default_rng(7)
    (root / "photos").mkdir(parents=True, exist_ok=True)
    strips = [rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8) for n in (3, 2)]
    for k, strip in enumerate(strips):
        if webp:
            Image.fromarray(pack_grid(strip)).save(root / "photos" / f"train_{k}.webp", lossless=True, exact=True)
        else:
            Image.fromarray(strip.reshape(-1, 64, 3)).save(root / "photos" / f"train_{k}.png")
    np.save(root / "photos" / "val_x.npy", rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8))
    return np.concatenate(strips)


@pytest.mark.parametrize("webp", [False, True])
def test_photo_crops_load_as_stored(tmp_path, webp):
    crops = fake_photos(tmp_path, webp)
    assert np.array_equal(photo_train(tmp_path), crops)
    assert photo_val(tmp_path).shape == (4, 64, 64, 3)
    with pytest.raises(DataError, match="photo training strips missing"):
        photo_train(tmp_path / "elsewhere")


def test_a_mixed_batch_holds_each_sources_share_cropped_to_one_size(tmp_path):
    data = fake_data(tmp_path)
    crops = fake_photos(data)
    cfg = RunConfig(photos=0.5, crop=16)
    sources, cifar = training_sources(data, cfg, 6, "cpu", log=lambda s: None)
    assert cifar == 20 and [n for _, n in sources] == [3, 3]
    x = training_batch(sources, 0, 0, torch.Generator().manual_seed(0), 16)
    assert x.shape == (6, 3, 16, 16) and x.dtype == torch.uint8
    for img in x[3:]:  # each photo part is a 16x16 window of some crop, maybe flipped
        found = False
        for crop in torch.from_numpy(crops).permute(0, 3, 1, 2):
            windows = crop.unfold(1, 16, 1).unfold(2, 16, 1)  # (3, 49, 49, 16, 16)
            for view in (img, img.flip(2)):
                found |= bool((windows == view.view(3, 1, 1, 16, 16)).flatten(3).all(dim=3).all(dim=0).any())
        assert found
    with pytest.raises(ValueError, match="to mix CIFAR-10 and photos"):
        training_sources(data, RunConfig(photos=0.5), 6, "cpu")
    with pytest.raises(ValueError, match="at most 32"):
        training_sources(data, RunConfig(photos=0.5, crop=48), 6, "cpu")
    assert evaluation_images(data, RunConfig(photos=0.5, eval_images=3)).shape == (3, 3, 64, 64)
    assert evaluation_images(data, RunConfig(eval_images=3)).shape == (3, 3, 32, 32)


def test_an_ardm_trains_on_photos_alone_and_its_card_says_so(tmp_path):
    data = fake_data(tmp_path / "data")
    fake_photos(data)
    (data / "cifar10" / "train_x_0.png").unlink()  # photos alone need no CIFAR-10 training strips
    cfg = TrainConfig(batch=4, total_steps=2, eval_images=4, eval_every_s=0.0, photos=1.0, crop=32, net=NET)
    train(data, tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log and all(r["test_bpd_ema"] > 0 for r in log)
    export(tmp_path / "run", tmp_path / "m.safetensors")
    assert model_info(tmp_path / "m.safetensors")["train_data"] == train_data_text(0, photos=1.0, crop=32)
    assert train_data_text(0, photos=1.0, crop=32).startswith("the natural-photo training crops")


def test_a_flow_trains_on_a_mix_of_cifar_and_photo_crops(tmp_path):
    data = fake_data(tmp_path / "data")
    fake_photos(data)
    cfg = FlowTrainConfig(batch=4, total_steps=2, eval_images=4, eval_every_s=0.0, photos=0.25, crop=16)
    model = {"levels": 2, "couplings": 1, "width": 8, "blocks": 1, "mixtures": 2}
    train_flow("idf", model, data, tmp_path / "run", cfg, minutes=5, log=lambda s: None)
    export_flow(tmp_path / "run", tmp_path / "m.safetensors")
    text = model_info(tmp_path / "m.safetensors")["train_data"]
    assert "natural-photo training crops, 0.25 of each batch" in text and "random 16x16 crops" in text
