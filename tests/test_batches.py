"""compress_many / decompress_many: same-size images in batches, every file byte for byte the one
compress() writes alone, every image decoded exactly, errors per image as compress/decompress give them."""

import numpy as np
import pytest
from PIL import Image

import ardmzip
from ardmzip import header as fmt
from ardmzip.batches import MAX_BATCH_PIXELS, batches, compress_many, decompress_many
from ardmzip.errors import ArdmzipError, CorruptFileError, LimitError
from conftest import FIXTURES
from tiny_flows import tiny_df_entry, tiny_idf_entry


def crops(name: str, size: tuple[int, int], count: int) -> list[Image.Image]:
    """Different same-size crops of one real photo."""
    im = Image.open(FIXTURES / name)
    w, h = size
    return [im.crop((3 * i, 2 * i, 3 * i + w, 2 * i + h)) for i in range(count)]


def with_alpha(im: Image.Image, varying: bool) -> Image.Image:
    out = im.convert("RGBA")
    alpha = np.asarray(im.convert("L")) if varying else np.full(im.size[::-1], 200, dtype=np.uint8)
    out.putalpha(Image.fromarray(alpha))
    return out


def mixed_images() -> list:
    """Five colour crops of one size, the same size in grey, palette and with alpha (coded and constant),
    an odd size, 1-bit, a uint8 array and 16-bit grey crops: several batches and batches of one."""
    rgb = crops("kodim15_crop64x64.png", (16, 12), 4) + crops("kodim23_crop48x40.png", (16, 12), 1)
    sixteen = Image.open(FIXTURES / "dem_crop48x40_16bit.png")
    return (rgb + [rgb[0].convert("L"), rgb[1].convert("L"), rgb[2].convert("P"), with_alpha(rgb[3], True),
                   with_alpha(rgb[4], True), with_alpha(rgb[0], False)]
            + crops("kodim05_crop17x33.png", (7, 5), 2) + [rgb[1].convert("1"), np.asarray(rgb[2])]
            + [sixteen.crop((0, 0, 10, 9)), sixteen.crop((20, 11, 30, 20))])


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_ardm_files_are_those_of_single_images_and_decode_exactly(tiny_registry):
    images = mixed_images()
    alone = [ardmzip.compress(im, budget=3) for im in images]
    decoded = [ardmzip.decompress(d) for d in alone]
    for batch in (3, 16):
        assert compress_many(images, budget=3, batch=batch) == alone
        assert all(same(b, d) for b, d in zip(decompress_many(alone, batch=batch), decoded))


def test_searched_files_are_those_of_single_images_and_mixed_seeds_decode(tiny_registry):
    """Each image keeps its own best order within a batch; files of several seeds are batched by seed."""
    images = crops("kodim15_crop64x64.png", (16, 12), 5) + crops("kodim05_crop17x33.png", (7, 5), 2)
    alone = [ardmzip.compress(im, budget=3, search=3) for im in images]
    assert len({ardmzip.inspect(d).order_seed for d in alone}) > 1, "the crops should not all pick one order"
    assert compress_many(images, budget=3, batch=4, search=3) == alone
    assert all(same(b, im) for b, im in zip(decompress_many(alone, batch=4), images))


@pytest.mark.parametrize("make_entry", [tiny_idf_entry, tiny_df_entry])
def test_flow_files_are_those_of_single_images(tmp_path, make_entry):
    model = make_entry(tmp_path).path
    images = crops("kodim15_crop64x64.png", (16, 12), 3) + crops("kodim05_crop17x33.png", (7, 5), 2)
    images.append(images[0].convert("L"))
    alone = [ardmzip.compress(im, model=model) for im in images]
    assert compress_many(images, model=model, batch=4) == alone
    back = decompress_many(alone, model=model)
    assert all(same(b, im) for b, im in zip(back, images))


def test_errors_stay_with_their_images(tiny_registry, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    big = crops("kodim15_crop64x64.png", (40, 30), 1)[0]
    good = crops("kodim15_crop64x64.png", (16, 12), 3)
    images = [good[0], tmp_path / "notes.txt", good[1], big, good[2]]
    out = compress_many(images, budget=2, max_pixels=1000, return_errors=True)
    for im, r in zip(images, out):
        if im in good:
            assert r == ardmzip.compress(im, budget=2)
        else:
            with pytest.raises(ArdmzipError) as alone:
                ardmzip.compress(im, budget=2, max_pixels=1000)
            assert type(r) is type(alone.value) and str(r) == str(alone.value)
    assert isinstance(out[3], LimitError)
    with pytest.raises(LimitError):
        compress_many(images[2:], budget=2, max_pixels=1000)


def test_a_damaged_file_fails_alone(tiny_registry):
    images = crops("kodim15_crop64x64.png", (16, 12), 3)
    files = compress_many(images, budget=2)
    damaged = bytearray(files[1])
    damaged[-5] ^= 0x40  # in the payload: the file's CRC catches it before decoding
    swapped = fmt.pack(fmt.unpack(files[1])[0], fmt.unpack(files[0])[1])  # intact, but another image's payload
    longer = fmt.pack(fmt.unpack(files[1])[0], fmt.unpack(files[1])[1] + b"\1\0\0\0")
    for bad in (bytes(damaged), swapped, longer, b"not an ardm file"):
        out = decompress_many([files[0], bad, files[2]], return_errors=True)
        with pytest.raises(ArdmzipError) as alone:
            ardmzip.decompress(bad)
        assert type(out[1]) is type(alone.value) and str(out[1]) == str(alone.value)
        assert same(out[0], images[0]) and same(out[2], images[2])
    with pytest.raises(CorruptFileError):
        decompress_many([files[0], bytes(damaged)])


def test_a_forged_file_whose_samples_fit_no_image_fails_alone(tiny_registry):
    """Found by the fuzzer: its pixels pass their checksum, then join_image refuses them (grey values
    in a 1-bit image), which raised out of the whole batch and lost the valid file beside it."""
    import dataclasses

    im = crops("kodim15_crop64x64.png", (7, 5), 1)[0].convert("L")
    data = ardmzip.compress(im, budget=2)
    head, payload = fmt.unpack(data)
    forged = fmt.pack(dataclasses.replace(head, mode="1"), payload)  # same plane shapes: the same batch
    out = decompress_many([forged, data], return_errors=True)
    assert isinstance(out[0], CorruptFileError) and "1-bit" in str(out[0]) and same(out[1], im)


def test_a_file_above_the_call_limit_fails_alone(tiny_registry):
    images = crops("kodim15_crop64x64.png", (16, 12), 3)
    files = compress_many(images, budget=2)
    files[1] = ardmzip.compress(images[1], budget=6)
    out = decompress_many(files, max_calls=5, return_errors=True)
    assert isinstance(out[1], LimitError) and "6 network calls" in str(out[1])
    assert same(out[0], images[0]) and same(out[2], images[2])
    out = compress_many(images, budget=6, max_calls=5, return_errors=True)
    assert all(isinstance(r, LimitError) for r in out)


def test_batches_group_equal_keys_within_the_caps():
    keys = ["a", "b", "a", None, "a", "b", "a", "a"]
    assert batches(keys, [10] * 8, batch=2) == [[0, 2], [4, 6], [7], [1, 5], [3]]
    assert all(len(b) == 1 for b in batches(["x"] * 3, [MAX_BATCH_PIXELS] * 3, batch=16))
    assert [len(b) for b in batches(["x"] * 100, [1024] * 100, batch=16)] == [15, 15, 14, 14, 14, 14, 14]
    assert [len(b) for b in batches(["x"] * 100, [1024] * 100, batch=16, spread=2)] == [13] * 4 + [12] * 4
    assert [len(b) for b in batches(["x"] * 3, [1024] * 3, batch=16, spread=4)] == [1, 1, 1]


def test_a_flow_file_with_a_forged_budget_fails_alone(tmp_path, monkeypatch):
    """Found by the fuzzer: a flow's file of another budget than 1 went into a batch of its own, whose
    codec refused it by raising out of decompress_many, losing every other file's image."""
    import dataclasses

    from ardmzip.registry import REGISTRY

    entry = tiny_idf_entry(tmp_path)
    monkeypatch.setattr(REGISTRY, "entries", {entry.name: entry})
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    im = crops("kodim15_crop64x64.png", (7, 5), 1)[0]
    data = ardmzip.compress(im, model=entry.name)
    head, payload = fmt.unpack(data)
    forged = fmt.pack(dataclasses.replace(head, budget=2), payload)
    out = decompress_many([forged, data], return_errors=True)
    assert isinstance(out[0], ArdmzipError) and "budget" in str(out[0]) and same(out[1], im)
