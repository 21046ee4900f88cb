import numpy as np
import pytest
from PIL import Image

from ardmzip.errors import UnsupportedImageError
from ardmzip.image_planes import join_image, plane_shapes, split_image
from conftest import FIXTURES


def photo(mode: str) -> Image.Image:
    im = Image.open(FIXTURES / "kodim23_crop48x40.png").convert("RGB")
    if mode in ("P", "PA"):
        im = im.quantize(50)
        if mode == "PA":
            im = im.convert("PA")
    else:
        im = im.convert(mode)
    if mode in ("RGBA", "LA", "PA"):
        a = np.asarray(im).copy()
        a[..., -1] = np.arange(a.shape[1])[None, :] * 5
        im = Image.frombytes(mode, im.size, a.tobytes()) if mode != "PA" else _with_palette(a, im)
    return im


def _with_palette(a, like):
    out = Image.frombytes("PA", like.size, a.tobytes())
    out.putpalette(like.getpalette())
    return out


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "PA", "1"])
def test_split_join_is_exact(mode):
    im = photo(mode)
    parts = split_image(im)
    assert [p.shape for p in parts.planes] == plane_shapes(mode, im.width, im.height, parts.alpha_constant is None)
    out = join_image(parts)
    assert out.mode == im.mode and out.size == im.size
    assert np.array_equal(np.asarray(out), np.asarray(im))
    if mode in ("P", "PA"):
        assert out.getpalette() == im.getpalette()


def test_uniform_alpha_is_stored_not_coded():
    im = photo("RGB").convert("RGBA")
    parts = split_image(im)
    assert parts.alpha_constant == 255 and len(parts.planes) == 1
    assert np.array_equal(np.asarray(join_image(parts)), np.asarray(im))


def test_palette_transparency_and_icc_kept():
    im = photo("P")
    im.info["transparency"] = 3
    im.info["icc_profile"] = b"fake profile bytes"
    out = join_image(split_image(im))
    assert out.info["transparency"] == 3 and out.info["icc_profile"] == b"fake profile bytes"
    im.info["transparency"] = bytes(range(10))
    assert join_image(split_image(im)).info["transparency"] == bytes(range(10))


def test_checksum_sees_every_pixel():
    parts = split_image(photo("RGB"))
    before = parts.pixel_checksum()
    parts.planes[0] = parts.planes[0].copy()
    parts.planes[0][5, 7, 2] ^= 1
    assert parts.pixel_checksum() != before


@pytest.mark.parametrize("mode", ["CMYK", "I", "F", "YCbCr"])
def test_unsupported_modes_refused(mode):
    with pytest.raises(UnsupportedImageError, match="not supported"):
        split_image(Image.new(mode, (4, 4)))


def test_a_one_bit_image_with_grey_values_is_refused_not_thresholded():
    """Found by the fuzzer: an L file forged to mode 1 decoded, its checksummed grey values rounded to 0 or 255."""
    from ardmzip.errors import CorruptFileError

    parts = split_image(photo("L").crop((0, 0, 5, 4)))
    parts.mode = "1"
    with pytest.raises(CorruptFileError, match="1-bit"):
        join_image(parts)
