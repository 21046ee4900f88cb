"""Worker pools: every result comes back, errors reach the parent, and no worker outlives the call."""

import multiprocessing
import signal

import pytest

from ardmzip import processes


def test_every_item_is_computed_once():
    assert sorted(processes.imap_unordered(abs, [-3, -1, 2, -5], 2)) == [1, 2, 3, 5]


def test_a_worker_error_reaches_the_parent_and_the_workers_end():
    with pytest.raises(ValueError):
        list(processes.imap_unordered(int, ["1", "not a number", "3"], 2))
    assert multiprocessing.active_children() == []


def test_stopping_early_ends_the_workers_and_restores_ctrl_c():
    before = signal.getsignal(signal.SIGINT)
    results = processes.imap_unordered(abs, range(-50, 0), 2)
    next(results)
    results.close()
    assert multiprocessing.active_children() == []
    assert signal.getsignal(signal.SIGINT) is before
