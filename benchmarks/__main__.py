"""``python -m ardmzip.benchmarks --dataset cifar10 --limit 200``: see ``ardmzip bench --help``."""

from .cli import bench

bench(prog_name="python -m ardmzip.benchmarks")
