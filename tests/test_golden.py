"""Golden files: every later version must decode them exactly (never rewrite them; add new ones).

Files of a model that leaves the release set go with it (issue 35 item 2): its number is retired in
weights/registry.json, and the golden files written with it stay in the history of this folder. The ones left:
* At commit 39ecf44 (images cropped from tests/fixtures): idf_rgb_12x9, df_rgb_12x9: the discrete flows idf-c10 and
  df-c10 (budget 1).
* At commit 96e31b2: ddf_p_12x10: an 8-class label map (palette image) coded by the denoising flow ddf-rgb8.
* After commit 98c72d7, with the v14 weights: mix14_rgb_12x9 and mix14_l_12x9 (its grey conversion): ardm-mix-c10
  (v14, the default since), budget 8.
* After commit 66e559a, with the up4 v4 weights: up4v4_rgb_12x9 and up4v4_l_12x9 (the same images as mix14_*):
  ardm-up4-c10 (v4, trained on the coder's calls in dispersed orders), budget 8.
* After commit b650f1b, when the release set replaced the earlier versions, with the default ardm-mix-c10 (v14),
  budget 8, the kinds of file only retired models had covered (the images of the files they replace):
  mix14_rgba_12x9: RGBA, alpha not uniform; mix14_p_48x40: a palette image; sixteen14_l_16x12, sixteen14_rgb_9x7:
  16-bit greyscale and RGB, format 2; search14_rgb_12x9: format 3, ``--search 4`` (order seed 2; the image of
  mix14_rgb_12x9); modelfile14_rgb_12x9: the default's weights file given by path (model number 0, whole sha256);
  archive14_k2: an archive (archive format 1) of the four images in archive_k2/ (RGB, L in a folder, P and RGBA),
  ``--orders 2``, three of them coded bits-back.
* After commit b650f1b: ddf_rgb_12x9 (the image of mix14_rgb_12x9): the denoising flow ddf-c10 for 8-bit images,
  the one model of the release set that had no golden file (budget 1).
* With the photo model idf-photo (v1, number 24) when it joined the release set: idfphoto_rgb_12x9 (the image of
  idf_rgb_12x9), budget 1.
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
    "idf_rgb_12x9": (4, 1, 8), "idfphoto_rgb_12x9": (24, 1, 8), "df_rgb_12x9": (5, 1, 8), "ddf_p_12x10": (9, 1, 8), "ddf_rgb_12x9": (8, 1, 8),
    "mix14_rgb_12x9": (22, 1, 8), "mix14_l_12x9": (22, 1, 8),
    "up4v4_rgb_12x9": (23, 1, 8), "up4v4_l_12x9": (23, 1, 8),
    "mix14_rgba_12x9": (22, 1, 8), "mix14_p_48x40": (22, 1, 8),
    "sixteen14_l_16x12": (22, 2, 16), "sixteen14_rgb_9x7": (22, 2, 16), "search14_rgb_12x9": (22, 3, 8),
    "modelfile14_rgb_12x9": (EXTERNAL_MODEL_ID, 1, 8),
}
# name: (model number, images coded bits-back, names); each holds ARCHIVE_IMAGES, in this order
ARCHIVE_IMAGES = ["a.png", "dir/b.png", "c.png", "d.png"]  # in archive_k2/
ARCHIVES = {
    "archive14_k2": (22, [False, True, True, True], ["a.png", "dir/b.png", "c.png", "d.png"]),
}
MODEL_FILES = {"modelfile14_rgb_12x9": "ardm-mix-c10-v14"}  # written with this registered model's weights file by path


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
