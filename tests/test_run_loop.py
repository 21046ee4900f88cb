"""The shared training loop's schedule and data order (the loop itself runs in test_train / test_train_flow)."""

import numpy as np
import pytest

from ardmzip.models.run_loop import RunConfig, batch_indices, lr_at


def test_data_order_is_reproducible_and_covers_each_epoch():
    assert (batch_indices(7, 100, 8, 0) == batch_indices(7, 100, 8, 0)).all()
    epoch = np.concatenate([batch_indices(s, 100, 10, 0) for s in range(10)])
    assert sorted(epoch.tolist()) == list(range(100))
    assert not (batch_indices(10, 100, 10, 0) == batch_indices(0, 100, 10, 0)).all()


def test_learning_rate_warms_up_then_decays_to_its_floor():
    cfg = RunConfig(lr=1e-3, warmup=10, total_steps=110, min_lr_ratio=0.05)
    assert lr_at(0, cfg) == pytest.approx(1e-4) and lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(60, cfg) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert lr_at(110, cfg) == pytest.approx(5e-5) == lr_at(500, cfg)
    rates = [lr_at(s, cfg) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
