"""Benchmark image sets (CIFAR-10 test, its 8-class label maps and grey conversions, ImageNet sample 32/64,
Kodak, any folder), hash-checked.

Public so that the benchmarks and users need not reach into ``ardmzip.models``; the facts about the
data (paths, hashes, subsets) live in one place, ``ardmzip.models.data``, which training reads too.
"""

from ardmzip.models.data import BENCHMARK_SETS, GREY, RGB8, DataError, ImageSet, images, spread_subset

__all__ = ["BENCHMARK_SETS", "GREY", "RGB8", "DataError", "ImageSet", "images", "spread_subset"]
