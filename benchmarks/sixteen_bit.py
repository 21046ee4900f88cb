"""16-bit images: ardmzip against 16-bit PNG, JPEG-XL, JPEG 2000 and JPEG-LS, every file decoded and checked.

    python -m ardmzip.benchmarks.sixteen_bit --budget 8 --threads 1 --out benchmarks/results/sixteen-bit

Images: the Jacksboro fault elevation model shipped with matplotlib (344x403, measured 16-bit
data, greyscale) and Kodak kodim23 box-averaged 2x2 to 384x256 16-bit RGB (each sample
(257 * sum of four 8-bit values + 2) // 4, so its low bytes carry real sub-level detail).
Bits per dimension are per 16-bit sample, from the bytes of each file. Writes summary.json (rows and
the environment) and table.md into --out after every row, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from PIL import Image

import ardmzip
from .codecs import _imagecodecs
from .environment import environment

HEAD = "| image | codec | bits/dim | model NLL | encode s | decode s |\n|---|---|---|---|---|---|\n"


def images(data_dir: Path) -> dict[str, np.ndarray]:
    import matplotlib.cbook

    dem = matplotlib.cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"]
    photo = np.asarray(Image.open(data_dir / "kodak" / "kodim23.png").convert("RGB")).astype(np.int64)
    four = photo[0::2, 0::2] + photo[1::2, 0::2] + photo[0::2, 1::2] + photo[1::2, 1::2]
    return {"elevation 344x403 grey": dem.astype(np.uint16),
            "kodim23/2 384x256 RGB": ((257 * four + 2) // 4).astype(np.uint16)}


def classical(ic) -> dict[str, tuple]:
    """Each codec's (encode giving (bytes, None), decode)."""
    return {
        "PNG (level 9)": (lambda a: (ic.png_encode(a, level=9), None), ic.png_decode),
        "JPEG-XL e7": (lambda a: (ic.jpegxl_encode(a, lossless=True, effort=7, numthreads=1), None),
                       lambda d: ic.jpegxl_decode(d, numthreads=1)),
        "JPEG 2000": (lambda a: (ic.jpeg2k_encode(a, codecformat="J2K", reversible=True), None), ic.jpeg2k_decode),
        "JPEG-LS": (lambda a: (ic.jpegls_encode(a, level=0), None), ic.jpegls_decode),
    }


def table(rows: list[dict]) -> str:
    lines = [f"| {r['image']} | {r['codec']} | {r['bits_per_dim']:.3f}{'' if r['lossless'] else ' (NOT lossless)'}"
             f" | {'' if r['model_nll'] is None else format(r['model_nll'], '.3f')}"
             f" | {r['encode_s']:.2f} | {r['decode_s']:.2f} |" for r in rows]
    return HEAD + "".join(line + "\n" for line in lines)


def measure(name: str, a: np.ndarray, codec: str, enc, dec) -> dict:
    """One codec on one image: file bytes, an exact-decode check, times; `enc` gives the bytes and the
    model's ideal bits (None for a classical codec)."""
    t0 = time.perf_counter()
    data, bits = enc(a)
    t1 = time.perf_counter()
    ok = np.array_equal(np.asarray(dec(data)).reshape(a.shape), a)
    t2 = time.perf_counter()
    return {"image": name, "codec": codec, "bytes": len(data), "dims": int(a.size),
            "bits_per_dim": 8 * len(data) / a.size, "lossless": bool(ok),
            "model_nll": None if bits is None else bits / a.size, "encode_s": t1 - t0, "decode_s": t2 - t1}


@click.command()
@click.option("--budget", "budgets", type=int, multiple=True, default=(8,), show_default=True)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="ARDMZIP_DATA_DIR",
              default="../shared/data", show_default=True, help="Laid out as shared/data (for Kodak).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for summary.json and table.md.")
def main(budgets: tuple[int, ...], threads: int, data_dir: Path, out: Path) -> None:
    ic = _imagecodecs()
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    config = {"budgets": list(budgets), "threads": threads}
    click.echo(HEAD, nl=False)
    for name, a in images(data_dir).items():
        runs = [(codec, enc, dec) for codec, (enc, dec) in classical(ic).items()]
        runs += [(f"ardmzip budget {b}", lambda x, b=b: ardmzip.compress_measured(x, budget=b, threads=threads)[:2],
                  lambda d: ardmzip.decompress(d, threads=threads)) for b in budgets]
        for codec, enc, dec in runs:
            rows.append(measure(name, a, codec, enc, dec))
            click.echo(table(rows[-1:])[len(HEAD):], nl=False)
            (out / "summary.json").write_text(json.dumps(
                {"config": config, "environment": environment(threads), "rows": rows}, indent=1) + "\n")
            (out / "table.md").write_text(table(rows))


if __name__ == "__main__":
    main()
