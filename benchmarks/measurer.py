"""Measuring whole images, in this process or in worker processes that each measure images of their own.

Workers are how two cores are used on small images: one torch thread per image codes a 32x32 image
about as fast as two, so two single-threaded workers measure nearly twice the images per minute. A
worker builds its codecs from the run's config (codecs are closures and do not pickle) and reads the
images itself; only the rows travel back, and the parent alone writes them to the store.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ardmzip import processes
from ardmzip.datasets import ImageSet, images

from .codecs import Codec
from .measure import Row, measure


@dataclass(frozen=True)
class Task:
    """One row still missing: codecs[codec] on one image."""

    dataset: str  # as given in the config ('folder' included)
    label: str  # as recorded in the rows
    index: int
    name: str
    codec: int


class Measurer:
    """Measures tasks with one list of codecs; the first image it sees warms every codec up, untimed."""

    def __init__(self, codecs: list[Codec], data_dir: Path, limit: int | None, nll: bool):
        self.codecs, self.data_dir, self.limit, self.nll = codecs, data_dir, limit, nll
        self._sets: dict[str, ImageSet] = {}
        self._warm = False

    def image_set(self, dataset: str) -> ImageSet:
        if dataset not in self._sets:
            self._sets[dataset] = images(dataset, self.data_dir, self.limit)
        return self._sets[dataset]

    def __call__(self, task: Task) -> Row:
        image = self.image_set(task.dataset).read(task.index)
        if not self._warm:
            warm_up(self.codecs, image)
            self._warm = True
        return measure(self.codecs[task.codec], task.label, task.name, image, self.nll)


def warm_up(codecs: list[Codec], image: np.ndarray) -> None:
    """Code a small crop once, untimed, so model loading and library set-up stay out of the first row."""
    for c in codecs:
        measure(c, "warm-up", "crop", np.ascontiguousarray(image[:8, :8]), nll=False)


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to measure as the parent would: `build` (picklable) makes the codecs whose
    names the parent's tasks index."""

    build: Callable[[], list[Codec]]
    names: tuple[str, ...]
    data_dir: Path
    limit: int | None
    nll: bool


_setup: WorkerSetup | None = None
_worker: Measurer | None = None


def _init_worker(setup: WorkerSetup) -> None:
    """Ctrl-C is the parent's to handle. Nothing that can fail runs here: a failing initializer makes the
    pool start workers forever, so the codecs are built on the first task, whose error reaches the parent."""
    global _setup
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _setup = setup


def _measure_in_worker(task: Task) -> Row:
    global _worker
    if _worker is None:
        codecs = _setup.build()
        if tuple(c.name for c in codecs) != _setup.names:
            raise RuntimeError(f"a worker built codecs {[c.name for c in codecs]}, not the parent's {list(_setup.names)}")
        _worker = Measurer(codecs, _setup.data_dir, _setup.limit, _setup.nll)
    return _worker(task)


def measure_tasks(tasks: list[Task], jobs: int, measurer: Measurer,
                  build: Callable[[], list[Codec]] | None) -> Iterator[Row]:
    """Each task's row as it finishes: by `measurer` in this process (jobs 1), or in up to `jobs` worker
    processes, each a Measurer like it whose codecs `build` makes again (required then)."""
    if jobs > 1 and build is None:
        raise ValueError("worker processes build their codecs from the config: pass codecs only with jobs=1")
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        yield from (measurer(t) for t in tasks)
        return
    setup = WorkerSetup(build, tuple(c.name for c in measurer.codecs), measurer.data_dir, measurer.limit,
                        measurer.nll)
    yield from processes.imap_unordered(_measure_in_worker, tasks, jobs, _init_worker, (setup,))
