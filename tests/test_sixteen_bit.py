"""16-bit greyscale and RGB, end to end, on real data.

Fixtures: dem_crop48x40_16bit.png is a 48x40 crop of the Jacksboro fault elevation model shipped
with matplotlib (sample_data/jacksboro_fault_dem.npz, elevation[100:140, 150:198], measured 16-bit
data); kodim23_resampled37x29_16bit.png is the kodim23 crop resampled (Lanczos, float) to 37x29
and scaled by 257 to 16-bit RGB, so its low bytes carry the resampled photo's fine detail.
"""

import io
import shutil
import sys

import imagecodecs
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ardmzip
from ardmzip import header as fmt
from ardmzip.cli import main
from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.low_bytes import LowByteCodec, passes, sample_range
from ardmzip.errors import CorruptFileError, UnsupportedImageError
from ardmzip.sixteen_bit import split
from conftest import FIXTURES

GREY = FIXTURES / "dem_crop48x40_16bit.png"
RGB = FIXTURES / "kodim23_resampled37x29_16bit.png"


def rgb16() -> np.ndarray:
    return imagecodecs.imread(RGB.read_bytes())


def test_fixtures_are_real_16_bit():
    grey = np.asarray(Image.open(GREY))
    assert grey.dtype == np.uint16 and len(np.unique(grey >> 8)) > 1 and len(np.unique(grey & 255)) > 100
    assert rgb16().dtype == np.uint16 and rgb16().shape == (29, 37, 3)


@pytest.mark.parametrize("size", [(1, 1), (1, 9), (7, 1), (5, 3), (33, 17), (16, 16)])
def test_passes_visit_every_pixel_once_after_its_neighbours(size):
    seen = np.zeros(size, dtype=int)
    for p in passes(*size):
        for dy, dx in p.offsets:
            y, x = p.ys + dy, p.xs + dx
            ok = (y >= 0) & (y < size[0]) & (x >= 0) & (x < size[1])
            assert seen[y[ok], x[ok]].all()  # every neighbour it is predicted from is already known
        np.add.at(seen, (p.ys, p.xs), 1)
    assert (seen == 1).all()


@pytest.mark.parametrize("precision", [12, 24])
@pytest.mark.parametrize("image, most_bits", [("grey", 2.1), ("rgb", 8.2)])
def test_low_byte_codec_round_trip_and_cost(precision, image, most_bits):
    """Near the cost of noise: the elevation crop's 2 low bits and the small resampled photo's low bytes."""
    a = rgb16() if image == "rgb" else np.asarray(Image.open(GREY))[..., None]
    offset, shift = sample_range(a)
    high, low = split(a, offset, shift)
    assert shift == (8 if image == "rgb" else 2)  # the elevations span 576 levels: 8 + 2 bits
    coder = AnsCoder()
    codec = LowByteCodec(high, shift, precision)
    codec.push(coder, low)
    coded = coder.num_bits()
    assert np.array_equal(LowByteCodec(high, shift, precision).pop(coder), low) and coder.is_empty()
    assert coded < most_bits * low.size
    assert abs(coded - codec.ideal_bits(low)) < 0.02 * coded + 64


def test_grey_png_round_trip_through_the_api(tiny_registry):
    data = ardmzip.compress(GREY, budget=3)
    head = ardmzip.inspect(data)
    assert (head.mode, head.bits, head.version) == ("L", 16, fmt.SIXTEEN_BIT_VERSION)
    out = ardmzip.decompress(data)
    assert out.mode == "I;16" and np.array_equal(np.asarray(out), np.asarray(Image.open(GREY)))


def test_rgb_png_round_trip_through_the_api(tiny_registry):
    data = ardmzip.compress(RGB, budget=3)
    out = ardmzip.decompress(data)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint16 and np.array_equal(out, rgb16())
    assert np.array_equal(imagecodecs.imread(ardmzip.api.encode_png(out)), rgb16())


def test_measured_bits_count_the_low_bytes_too(tiny_registry):
    out = ardmzip.compress_measured(RGB, budget=3)
    assert out.data == ardmzip.compress(RGB, budget=3)
    assert out.model_bits == pytest.approx(ardmzip.model_bits(RGB, budget=3), rel=1e-12)


def test_uint16_array_of_one_channel_round_trips_as_16_bit_grey(tiny_registry):
    a = rgb16()
    data = ardmzip.compress(a[..., :1], budget=2)
    head = ardmzip.inspect(data)
    assert (head.mode, head.bits, head.version) == ("L", 16, fmt.SIXTEEN_BIT_VERSION)
    assert np.array_equal(ardmzip.decompress(data), Image.fromarray(a[..., 0]))


def test_uint8_arrays_and_eight_bit_files_stay_format_1(tiny_registry):
    """Format 2 only for 16-bit data: every 8-bit input keeps the format older readers decode."""
    a = (rgb16() >> 8).astype(np.uint8)
    data = ardmzip.compress(a, budget=2)
    assert (ardmzip.inspect(data).version, ardmzip.inspect(data).bits) == (1, 8)
    assert np.array_equal(np.asarray(ardmzip.decompress(data)), a)
    assert ardmzip.inspect(ardmzip.compress(FIXTURES / "kodim05_crop17x33.png", budget=2)).version == 1


def test_cli_round_trip_writes_16_bit_pngs(tiny_registry, tmp_path):
    for src in (GREY, RGB):
        shutil.copy(src, tmp_path / src.name)
        r = CliRunner().invoke(main, ["compress", "--budget", "2", str(tmp_path / src.name)])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, ["info", str(tmp_path / (src.name + ".ardm"))])
        assert "16-bit" in r.output
        r = CliRunner().invoke(main, ["decompress", "-o", str(tmp_path / "back.png"), "-f",
                                      str(tmp_path / (src.name + ".ardm"))])
        assert r.exit_code == 0, r.output
        assert np.array_equal(imagecodecs.imread((tmp_path / "back.png").read_bytes()),
                              imagecodecs.imread(src.read_bytes()))


def test_pillow_plugin_holds_grey_and_refuses_rgb(tiny_registry):
    buf = io.BytesIO()
    Image.open(GREY).save(buf, format="ARDM", budget=2)
    buf.seek(0)
    im = Image.open(buf)
    assert im.mode == "I;16" and np.array_equal(np.asarray(im), np.asarray(Image.open(GREY)))
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(io.BytesIO(ardmzip.compress(rgb16(), budget=2)))


def test_refusals(tiny_registry):
    with pytest.raises(UnsupportedImageError, match="alpha"):
        ardmzip.compress(np.zeros((4, 4, 4), np.uint16))
    keyed = Image.open(GREY)
    keyed.info["transparency"] = 400
    with pytest.raises(UnsupportedImageError, match="transparent"):
        ardmzip.compress(keyed)
    with pytest.raises(UnsupportedImageError, match="mode I is not supported"):
        ardmzip.compress(Image.fromarray(np.zeros((3, 3), np.int32)))


def test_sixteen_bit_flag_is_refused_in_a_format_1_file(tiny_registry):
    head, payload = fmt.unpack(ardmzip.compress(GREY, budget=2))
    data = bytearray(fmt.pack(head, payload))
    data[len(fmt.MAGIC)] = 1  # claim format 1, which has no 16-bit flag
    with pytest.raises(CorruptFileError):
        fmt.unpack(fmt.with_crc(bytes(data[:-4])))


def test_rgb_files_without_imagecodecs_get_a_one_line_error_naming_it(tiny_registry, monkeypatch):
    """imagecodecs is optional (the bench extra): only reading 16-bit RGB files needs it."""
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import fails as if not installed
    with pytest.raises(UnsupportedImageError, match=r"needs the imagecodecs package \(pip install imagecodecs\)"):
        ardmzip.compress(RGB, budget=2)
    assert ardmzip.inspect(ardmzip.compress(rgb16(), budget=2)).bits == 16  # arrays need no reader
