"""16-bit images: ardmzip against 16-bit PNG, JPEG-XL, JPEG 2000 and JPEG-LS, every file decoded and checked.

    python -m ardmzip.benchmarks.sixteen_bit --budget 8 --threads 1

Images: the Jacksboro fault elevation model shipped with matplotlib (344x403, measured 16-bit
data, greyscale) and Kodak kodim23 box-averaged 2x2 to 384x256 16-bit RGB (each sample
(257 * sum of four 8-bit values + 2) // 4, so its low bytes carry real sub-level detail).
Bits per dimension are per 16-bit sample, from the bytes of each file.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

import ardmzip
from .codecs import _imagecodecs


def images(data_dir: Path) -> dict[str, np.ndarray]:
    import matplotlib.cbook

    dem = matplotlib.cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"]
    photo = np.asarray(Image.open(data_dir / "kodak" / "kodim23.png").convert("RGB")).astype(np.int64)
    four = photo[0::2, 0::2] + photo[1::2, 0::2] + photo[0::2, 1::2] + photo[1::2, 1::2]
    return {"elevation 344x403 grey": dem.astype(np.uint16),
            "kodim23/2 384x256 RGB": ((257 * four + 2) // 4).astype(np.uint16)}


def classical(ic) -> dict[str, tuple]:
    return {
        "PNG (level 9)": (lambda a: ic.png_encode(a, level=9), ic.png_decode),
        "JPEG-XL e7": (lambda a: ic.jpegxl_encode(a, lossless=True, effort=7, numthreads=1),
                       lambda d: ic.jpegxl_decode(d, numthreads=1)),
        "JPEG 2000": (lambda a: ic.jpeg2k_encode(a, codecformat="J2K", reversible=True), ic.jpeg2k_decode),
        "JPEG-LS": (lambda a: ic.jpegls_encode(a, level=0), ic.jpegls_decode),
    }


@click.command()
@click.option("--budget", "budgets", type=int, multiple=True, default=(8,), show_default=True)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ARDMZIP_DATA_DIR",
              default="../shared/data", show_default=True, help="Laid out as shared/data (for Kodak).")
def main(budgets: tuple[int, ...], threads: int, data_dir: Path) -> None:
    ic = _imagecodecs()
    click.echo("| image | codec | bits/dim | model NLL | encode s | decode s |\n|---|---|---|---|---|---|")
    for name, a in images(data_dir).items():
        dims = a.size
        for codec, (enc, dec) in classical(ic).items():
            t0 = time.perf_counter()
            data = enc(a)
            t1 = time.perf_counter()
            ok = np.array_equal(np.asarray(dec(data)).reshape(a.shape), a)
            t2 = time.perf_counter()
            click.echo(f"| {name} | {codec} | {8 * len(data) / dims:.3f}{'' if ok else ' (NOT lossless)'} | "
                       f"| {t1 - t0:.2f} | {t2 - t1:.2f} |")
        for budget in budgets:
            t0 = time.perf_counter()
            data = ardmzip.compress(a, budget=budget, threads=threads)
            t1 = time.perf_counter()
            ok = np.array_equal(np.asarray(ardmzip.decompress(data, threads=threads)).reshape(a.shape), a)
            t2 = time.perf_counter()
            nll = ardmzip.model_bits(a, budget=budget, threads=threads) / dims
            click.echo(f"| {name} | ardmzip budget {budget} | {8 * len(data) / dims:.3f}"
                       f"{'' if ok else ' (NOT lossless)'} | {nll:.3f} | {t1 - t0:.1f} | {t2 - t1:.1f} |")


if __name__ == "__main__":
    main()
