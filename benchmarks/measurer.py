"""Measuring whole images, in this process or in worker processes that each measure images of their own.

Workers are how two cores are used on small images: one torch thread per image codes a 32x32 image
about as fast as two, so two single-threaded workers measure nearly twice the images per minute. A
worker builds its codecs from the run's config (codecs are closures and do not pickle) and reads the
images itself; only the rows travel back, and the parent alone writes them to the store.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from ardmzip.datasets import ImageSet, images

from .codecs import Codec
from .measure import Row, measure


@dataclass(frozen=True)
class Task:
    """The rows one image still lacks: codecs[i] for i in `codecs`."""

    dataset: str  # as given in the config ('folder' included)
    label: str  # as recorded in the rows
    index: int
    name: str
    codecs: tuple[int, ...]


class Measurer:
    """Measures tasks with one list of codecs; the first image it sees warms every codec up, untimed."""

    def __init__(self, codecs: list[Codec], data_dir, limit: int | None, nll: bool):
        self.codecs, self.data_dir, self.limit, self.nll = codecs, data_dir, limit, nll
        self._sets: dict[str, ImageSet] = {}
        self._warm = False

    def image_set(self, dataset: str) -> ImageSet:
        if dataset not in self._sets:
            self._sets[dataset] = images(dataset, self.data_dir, self.limit)
        return self._sets[dataset]

    def __call__(self, task: Task) -> list[Row]:
        image = self.image_set(task.dataset).read(task.index)
        if not self._warm:
            warm_up(self.codecs, image)
            self._warm = True
        return [measure(self.codecs[i], task.label, task.name, image, self.nll) for i in task.codecs]


def warm_up(codecs: list[Codec], image: np.ndarray) -> None:
    """Code a small crop once, untimed, so model loading and library set-up stay out of the first row."""
    for c in codecs:
        measure(c, "warm-up", "crop", np.ascontiguousarray(image[:8, :8]), nll=False)


_worker: Measurer | None = None


def _init_worker(build: Callable[[], list[Codec]], data_dir, limit: int | None, nll: bool) -> None:
    """Ctrl-C is the parent's to handle; a worker builds its own codecs once."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    _worker = Measurer(build(), data_dir, limit, nll)


def _measure_in_worker(task: Task) -> list[Row]:
    return _worker(task)


def measure_tasks(tasks: list[Task], jobs: int, build: Callable[[], list[Codec]], data_dir, limit: int | None,
                  nll: bool, codecs: list[Codec] | None = None) -> Iterator[list[Row]]:
    """Each task's rows as it finishes: in this process (jobs 1, with `codecs` if given, else built), or in
    up to `jobs` worker processes, each calling `build` (a picklable callable) for its codecs."""
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        measurer = Measurer(build() if codecs is None else codecs, data_dir, limit, nll)
        yield from (measurer(t) for t in tasks)
        return
    # spawn, not fork: a forked child of a process that already ran OpenMP threads can hang
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=_init_worker,
                                                     initargs=(build, data_dir, limit, nll))
    try:
        yield from pool.imap_unordered(_measure_in_worker, tasks)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def task_list(dataset: str, label: str, names: Iterable[str], missing: Callable[[str], tuple[int, ...]]) -> list[Task]:
    """Tasks for the images of one set that lack any row; missing(name) gives the codecs it lacks."""
    return [Task(dataset, label, i, name, todo) for i, name in enumerate(names) if (todo := missing(name))]
