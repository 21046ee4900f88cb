"""What the exactness tests share: an array through the flow codec and back, and work done at one and two
torch threads (the exact models must compute the same integers whatever the thread count)."""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
import torch

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.flow import FlowCodec

T = TypeVar("T")


def flow_round_trip(model, x: np.ndarray) -> tuple[np.ndarray, int]:
    """x coded alone by the flow codec, then popped; the coder must end empty. (decoded array, bits written)."""
    codec, coder = FlowCodec(model, x.shape), AnsCoder()
    codec.push(coder, x)
    bits = len(coder.get_compressed()) * 32
    back = codec.pop(coder)
    assert coder.is_empty()
    return back, bits


def at_one_and_two_threads(work: Callable[[], T]) -> tuple[T, T]:
    """work() with 1 torch thread, then with 2; the thread count is restored after."""
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = work()
        torch.set_num_threads(2)
        return one, work()
    finally:
        torch.set_num_threads(old)
