"""The size rule: with no model named, an image's size picks the registered model it is coded with."""

import copy
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ardmzip
from ardmzip.batches import compress_many
from ardmzip.cli import main
from ardmzip.errors import ModelError
from ardmzip.registry import REGISTRY, REGISTRY_FILE, registry_from_data


@pytest.fixture
def above_100(monkeypatch):
    """Images of more than 100 pixels default to idf-c10 (the shipped data names no such rule yet)."""
    monkeypatch.setattr(REGISTRY, "default_above", (100, "idf-c10"))


def image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_an_image_larger_than_a_thumbnail_takes_the_large_images_model(above_100):
    small, large = image(10, 10), image(9, 12)  # 100 and 108 pixels
    small_file, large_file = ardmzip.compress(small), ardmzip.compress(large)
    assert ardmzip.inspect(small_file).model_id == REGISTRY.get().model_id
    assert ardmzip.inspect(large_file).model_id == REGISTRY.get("idf-c10").model_id
    assert np.array_equal(np.asarray(ardmzip.decompress(large_file)), large)
    named = ardmzip.compress(large, model=REGISTRY.default, budget=3)  # a named model overrides the rule
    assert ardmzip.inspect(named).model_id == REGISTRY.get().model_id


@pytest.mark.parametrize("mode", ["L", "P", "RGBA"])
def test_a_large_image_with_a_grey_palette_or_alpha_plane_takes_the_default(above_100, mode):
    """A flow sees such a plane as three equal channels: the default ARDM, trained on grey planes, codes it."""
    rgb = image(9, 12)
    im = Image.fromarray(rgb).convert(mode) if mode != "RGBA" else Image.fromarray(
        np.dstack([rgb, np.arange(108, dtype=np.uint8).reshape(9, 12)]))
    data = ardmzip.compress(im)
    assert ardmzip.inspect(data).model_id == REGISTRY.get().model_id
    assert np.array_equal(np.asarray(ardmzip.decompress(data)), np.asarray(im))
    assert compress_many([im]) == [data]


def test_a_budget_asks_for_the_default_ardm_at_any_size(above_100):
    """The budget is the ARDM's knob: turning it with no model named codes a large image with the default too."""
    large = image(9, 12)
    head = ardmzip.inspect(ardmzip.compress(large, budget=3))
    assert (head.model_id, head.budget) == (REGISTRY.get().model_id, 3)
    assert compress_many([large], budget=3) == [ardmzip.compress(large, budget=3)]


def test_folders_code_each_image_as_compress_does(above_100):
    images = [image(10, 10, 1), image(9, 12, 2), image(10, 10, 3), image(9, 12, 4)]
    coded = compress_many(images, batch=4)
    assert coded == [ardmzip.compress(im) for im in images]
    assert {ardmzip.inspect(c).model_id for c in coded} == {REGISTRY.get().model_id, REGISTRY.get("idf-c10").model_id}


def test_without_a_rule_every_image_takes_the_default():
    data = json.loads(REGISTRY_FILE.read_text())
    data.pop("default_above", None)
    assert registry_from_data(data, REGISTRY_FILE.parent).default_for(10 ** 9) == data["default"]


def test_the_rule_is_read_from_the_registry_data_and_checked():
    data = json.loads(REGISTRY_FILE.read_text())
    data["default_above"] = {"pixels": 4096, "model": "idf-c10"}
    registry = registry_from_data(data, REGISTRY_FILE.parent)
    assert registry.default_for(4096) == data["default"] and registry.default_for(4097) == "idf-c10"
    for bad in ({"pixels": 0, "model": "idf-c10"}, {"pixels": 64, "model": "nope"}, {"pixels": 64}):
        broken = copy.deepcopy(data)
        broken["default_above"] = bad
        with pytest.raises(ModelError, match="default_above"):
            registry_from_data(broken, REGISTRY_FILE.parent)


def test_models_states_the_rule(above_100):
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0
    assert ("* the default for images of up to 100 pixels and images with a grey, palette or alpha plane, idf-c10 "
            "for larger colour ones") in r.stdout
