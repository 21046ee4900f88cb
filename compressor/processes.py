"""Worker processes that never outlive an error or a Ctrl-C of the parent; public, as ``ardmzip.datasets`` is.

The folder commands and the benchmarks both spread work over processes; both need the same care, so it
lives here once: spawn, not fork (a forked child of a process that already ran OpenMP threads can hang);
children start while SIGINT is ignored, so they ignore it from their first instruction and Ctrl-C is the
parent's alone; on any error or interrupt the pool is terminated, otherwise closed, and always joined.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def imap_unordered(func: Callable[[T], R], items: Iterable[T], jobs: int,
                   initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> Iterator[R]:
    """func(item) for every item, in `jobs` spawned workers, each result as soon as it is ready."""
    with _sigint_ignored():
        pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=initializer, initargs=initargs)
    try:
        yield from pool.imap_unordered(func, items)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
