"""Files written by ardmzip 0.1.0 (format 1; ardm-c10-v1, and mix_* with ardm-mix-c10-v1 at budget 32):
every later version must decode them exactly."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ardmzip

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.ardm"))


def test_golden_files_present():
    assert len(CASES) == 6


@pytest.mark.parametrize("name", CASES)
def test_golden_file_decodes_exactly(name):
    out = ardmzip.decompress((GOLDEN / f"{name}.ardm").read_bytes())
    expected = Image.open(GOLDEN / f"{name}.png")
    assert out.mode == expected.mode and out.size == expected.size
    assert np.array_equal(np.asarray(out), np.asarray(expected))
    if out.mode == "P":
        assert out.getpalette() == expected.getpalette()
