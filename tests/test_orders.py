"""Generation orders: permutations for every plane shape and variant, dispersed where promised, and each
model coding in the family its file names (files before v11 name none: random)."""

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.models.coding_model import load_coding_model
from ardmzip.models.orders import _dither_rank, dispersed_order, family_order, generation_order
from conftest import FIXTURES
from tiny_model import tiny_entry


def bayer(n: int) -> np.ndarray:
    m = np.zeros((1, 1), np.int64)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1, 3), (37, 29, 3), (5, 13, 1), (9, 12, 3), (3, 100, 4), (64, 64, 3)])
@pytest.mark.parametrize("seed", [0, 1, 7, 8, 23, 24, 1000, 2**32 - 1])
def test_every_variant_is_a_permutation(shape, seed):
    for family in ("random", "dispersed"):
        order = family_order(family, shape, seed)
        assert np.array_equal(np.sort(order), np.arange(np.prod(shape)))


def test_the_dispersed_order_is_the_bayer_ranking_with_channels_a_third_apart():
    assert np.array_equal(_dither_rank(32, 32, 0), bayer(32).reshape(-1))
    order = dispersed_order((32, 32, 3))
    pixel, channel = np.divmod(order, 3)
    assert np.array_equal(pixel[channel == 0], np.argsort(bayer(32).reshape(-1)))
    when = np.empty(3072, dtype=np.int64)
    when[order] = np.arange(3072)
    gaps = np.abs(np.diff(when.reshape(1024, 3), axis=1))
    assert gaps.min() >= 3 * 341 - 3  # a pixel's channels come about a third of the generation apart
    first = pixel[:4 * 3][channel[:12] == 0]  # the first pixels of a channel: one per quadrant
    assert sorted((p // 32 // 16, p % 32 // 16) for p in first) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_variants_differ_and_odd_sizes_stay_spread():
    orders = {dispersed_order((12, 9, 3), s).tobytes() for s in range(48)}
    assert len(orders) == 48
    y, x = np.divmod(dispersed_order((37, 29, 1))[:16], 29)
    assert len(set(zip(y // 10, x // 8))) >= 12  # 16 first pixels over most of a 4x4 grid of cells


@pytest.mark.parametrize("family", [None, "random", "dispersed"])
def test_a_model_codes_in_the_family_its_file_names(tmp_path, monkeypatch, family):
    from ardmzip.registry import REGISTRY

    entry = tiny_entry(tmp_path, order=family)
    model = load_coding_model(entry.path)
    assert model.order_family == (family or "random")
    assert np.array_equal(model.schedule((9, 12, 3), 3072)[5], [family_order(family or "random", (9, 12, 3))[5]])
    monkeypatch.setattr(REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(REGISTRY, "default", entry.name)
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    im = Image.open(FIXTURES / "kodim23_crop48x40.png")
    for search in (1, 3):
        data = ardmzip.compress(im, budget=4, search=search)
        assert np.array_equal(np.asarray(ardmzip.decompress(data)), np.asarray(im))


def test_an_unknown_family_is_refused(tmp_path):
    entry = tiny_entry(tmp_path, order="spiral")
    with pytest.raises(ValueError, match="unknown generation order family"):
        load_coding_model(entry.path)


def test_the_random_family_is_the_order_every_earlier_file_was_coded_in():
    assert np.array_equal(family_order("random", (32, 32, 3), 5), generation_order((32, 32, 3), 5))
