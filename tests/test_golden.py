"""Golden files: every later version must decode them exactly (never rewrite them; add new ones).

Written by ardmzip 0.1.0 with the shipped registry models:
* rgb_17x33, rgba_17x33, l_48x40, p_48x40: format 1, ardm-c10 (budget 12);
  mix_rgb_17x33, mix_l_48x40: ardm-mix-c10-v1 (budget 32).
* At commit 39ecf44 (images cropped from tests/fixtures, budget 8 for the ARDMs):
  mix2_rgba_12x9: ardm-mix-c10-v2 (then the default), alpha not uniform;
  sixteen_l_16x12, sixteen_rgb_9x7: 16-bit greyscale and RGB, format 2, ardm-mix-c10-v2;
  idf_rgb_12x9, df_rgb_12x9: the discrete flows idf-c10 and df-c10 (budget 1);
  up4_rgb_12x9, up4v1_l_10x8: the depth-upscaling ardm-up4-c10 (v2) and ardm-up4-c10-v1;
  modelfile_rgb_12x9: the default's weights file given by path (model number 0, whole sha256);
  archive_k2: an archive (archive format 1) of four images, RGB, L in a folder, P and RGBA, with
  ardm-mix-c10-v2 and K = 2 orders, two of them coded bits-back; its images are in archive_k2/.
* At commit 96e31b2: ddf_p_12x10: an 8-class label map (palette image) coded by the denoising flow ddf-rgb8.
* After commit efb7be4, with the v3 weights: mix3_rgb_12x9: ardm-mix-c10 (v3, the default since), budget 8.
* After commit b02abd5, with the v4 weights: mix4_rgb_12x9: ardm-mix-c10 (v4, the default since), budget 8.
* After commit f7beaeb, with the v5 weights: mix5_rgb_12x9: ardm-mix-c10 (v5, the default since), budget 8.
* After commit 0338419, with the v6 weights: mix6_rgb_12x9: ardm-mix-c10 (v6, the default since), budget 8.
* After commit 7bd6edb, with the v7 weights: mix7_rgb_12x9: ardm-mix-c10 (v7, the default since), budget 8.
* After commit 5911ec2, with the v8 weights: mix8_rgb_12x9: ardm-mix-c10 (v8, the default since), budget 8.
* After commit aef7ecf, with the v9 weights: mix9_rgb_12x9: ardm-mix-c10 (v9, the default since), budget 8.
* After commit af4b506, with the v10 weights: mix10_rgb_12x9: ardm-mix-c10 (v10, the default since), budget 8.
* After commit 6381d89, with the v11 weights: mix11_rgb_12x9: ardm-mix-c10 (v11, the default since), budget 8.
* After commit bb3ed4a: search_rgb_12x9: format 3, ardm-mix-c10-v10 (then the default), budget 8, ``--search 4``
  (order seed 2; the same image as mix10_rgb_12x9).
* After commit 6381d89: search11_rgb_12x9: format 3, ardm-mix-c10 (v11, dispersed orders), budget 8,
  ``--search 8`` (order seed 2, a variant of the dispersed family; the same image as mix11_rgb_12x9).
* After commit e484c60: archive11_k2: an archive of archive_k2's four images (b.png from its dir/), ardm-mix-c10
  (v11), ``--orders 2 --budget 8``: three coded bits-back with a variant number of the dispersed family as latent.
* After commit 8307157, with the v12 weights: mix12_rgb_12x9: ardm-mix-c10 (v12, the default since, trained on the
  coder's calls in dispersed orders), budget 8.
* After commit a5ce6fb, with the v13 weights: mix13_rgb_12x9 (the same image as mix12_rgb_12x9) and mix13_l_12x9 (its
  grey conversion): ardm-mix-c10 (v13, the default since, trained on the coder's calls of colour images and grey
  planes), budget 8.
* With the up4 v3 weights: up4v3_rgb_12x9 (the same image as up4_rgb_12x9) and up4v3_l_12x9 (its grey conversion):
  ardm-up4-c10 (v3, fine-tuned from v13, dispersed orders), budget 8.
* After commit 98c72d7, with the v14 weights: mix14_rgb_12x9 (the same image as mix13_rgb_12x9) and mix14_l_12x9 (its
  grey conversion): ardm-mix-c10 (v14, the default since), budget 8.
* After commit 66e559a, with the up4 v4 weights: up4v4_rgb_12x9 and up4v4_l_12x9 (the images of up4v3_rgb_12x9 and
  up4v3_l_12x9): ardm-up4-c10 (v4, trained on the coder's calls in dispersed orders), budget 8.
"""

from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip.archive import decompress_archive, inspect_archive
from ardmzip.header import EXTERNAL_MODEL_ID
from ardmzip.registry import REGISTRY

GOLDEN = Path(__file__).parent / "golden"
# name: (model number, format version, bits per sample)
SINGLE = {
    "rgb_17x33": (1, 1, 8), "rgba_17x33": (1, 1, 8), "l_48x40": (1, 1, 8), "p_48x40": (1, 1, 8),
    "mix_rgb_17x33": (2, 1, 8), "mix_l_48x40": (2, 1, 8), "mix2_rgba_12x9": (7, 1, 8),
    "sixteen_l_16x12": (7, 2, 16), "sixteen_rgb_9x7": (7, 2, 16), "idf_rgb_12x9": (4, 1, 8),
    "df_rgb_12x9": (5, 1, 8), "up4_rgb_12x9": (6, 1, 8), "up4v1_l_10x8": (3, 1, 8),
    "modelfile_rgb_12x9": (EXTERNAL_MODEL_ID, 1, 8), "ddf_p_12x10": (9, 1, 8),
    "mix3_rgb_12x9": (10, 1, 8), "mix4_rgb_12x9": (11, 1, 8),
    "mix5_rgb_12x9": (12, 1, 8), "mix6_rgb_12x9": (13, 1, 8), "mix7_rgb_12x9": (14, 1, 8),
    "mix8_rgb_12x9": (15, 1, 8), "mix9_rgb_12x9": (16, 1, 8), "mix10_rgb_12x9": (17, 1, 8),
    "mix11_rgb_12x9": (18, 1, 8), "mix12_rgb_12x9": (19, 1, 8),
    "mix13_rgb_12x9": (20, 1, 8), "mix13_l_12x9": (20, 1, 8),
    "mix14_rgb_12x9": (22, 1, 8), "mix14_l_12x9": (22, 1, 8),
    "up4v3_rgb_12x9": (21, 1, 8), "up4v3_l_12x9": (21, 1, 8),
    "up4v4_rgb_12x9": (23, 1, 8), "up4v4_l_12x9": (23, 1, 8),
    "search_rgb_12x9": (17, 3, 8), "search11_rgb_12x9": (18, 3, 8),
}
# name: (model number, images coded bits-back, names); both hold ARCHIVE_IMAGES, in this order
ARCHIVE_IMAGES = ["a.png", "dir/b.png", "c.png", "d.png"]  # in archive_k2/
ARCHIVES = {
    "archive_k2": (7, [False, True, True, False], ["a.png", "dir/b.png", "c.png", "d.png"]),
    "archive11_k2": (18, [False, True, True, True], ["a.png", "b.png", "c.png", "d.png"]),
}
MODEL_FILES = {"modelfile_rgb_12x9": "ardm-mix-c10-v2"}  # written with this registered model's weights file by path


def test_golden_files_present():
    assert sorted(p.stem for p in GOLDEN.glob("*.ardm")) == sorted([*SINGLE, *ARCHIVES])


def expected(path: Path):
    """The reference image; 16-bit RGB through imagecodecs, since Pillow reads only 8 bits of it."""
    im = Image.open(path)
    if im.mode == "RGB" and imagecodecs.imread(path.read_bytes()).dtype == np.uint16:
        return imagecodecs.imread(path.read_bytes())
    return im


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_golden_file_decodes_exactly(name):
    data = (GOLDEN / f"{name}.ardm").read_bytes()
    head = ardmzip.inspect(data)
    assert (head.model_id, head.version, head.bits) == SINGLE[name]
    assert (head.order_seed != 0) == (head.version == 3)
    model = REGISTRY.get(MODEL_FILES[name]).path if name in MODEL_FILES else None
    out = ardmzip.decompress(data, model=model)
    want = expected(GOLDEN / f"{name}.png")
    if isinstance(want, np.ndarray):
        assert isinstance(out, np.ndarray) and out.dtype == want.dtype and np.array_equal(out, want)
        return
    assert out.mode == want.mode and out.size == want.size
    assert np.array_equal(np.asarray(out), np.asarray(want))
    if out.mode == "P":
        assert out.getpalette() == want.getpalette()


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_golden_archive_decodes_exactly(name):
    data = (GOLDEN / f"{name}.ardm").read_bytes()
    head = inspect_archive(data)
    model_id, latent, names = ARCHIVES[name]
    assert (head.model_id, head.orders, head.version) == (model_id, 2, 1)
    assert [e.order_latent for e in head.entries] == latent
    out = decompress_archive(data)
    assert [n for n, _ in out] == names
    for (_, image), source in zip(out, ARCHIVE_IMAGES):
        want = Image.open(GOLDEN / "archive_k2" / source)
        assert image.mode == want.mode and np.array_equal(np.asarray(image), np.asarray(want))
        if image.mode == "P":
            assert image.getpalette() == want.getpalette()
