"""Images from the shared data folder (see its README for the layout), checked against its hashes.

The one home of where each set lives, what its pixels hash to and how a subset is drawn: training
reads from here, and so do the benchmarks, through the public ``ardmzip.datasets``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image

BENCHMARK_SETS = ("cifar10", "imagenet32", "imagenet64", "kodak")  # test images only
RGB8 = "cifar10-rgb8"  # CIFAR-10 as label maps of 8 classes (rgb8_labels): categorical data for the flows
GREY = "cifar10-grey"  # CIFAR-10 as Pillow's grey conversions (grey_planes): the single planes grey images code as

# sha256 of the loaded C-contiguous uint8 array (the data README's "content hashes").
ARRAY_SHA256 = {
    "cifar10/test_x.npy": "52a9dc125982c0440d5eed87474b2f521e96c45a98df08e4329aa42c692b9d9d",
    "imagenet_sample/x32.npy": "760a45634813d6e808e56377b76c32ee8d872c5b0d8ccddc10de3720934b3b6e",
    "imagenet_sample/x64.npy": "093fd1b5ef25aadb7a62db6fc1eff559aba7bd5e9a8050b2af8646922e5b7eec",
}
# sha256 of the files: the only hashes the README gives for Kodak, and they name the set's 24 images.
KODAK_SHA256 = {
    "kodim01.png": "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",
    "kodim02.png": "4f4b74a79237e311d72cad958237b5f7088d8bce1c82305ebefe1a70e3022dfd",
    "kodim03.png": "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",
    "kodim04.png": "e3b946107c5d3441c022f678d0c3caf1e224d81b1604ba840a4f88e562de61aa",
    "kodim05.png": "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",
    "kodim06.png": "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",
    "kodim07.png": "b77d3f006f42414bb242222e0482e750c0fb9e5ee8d4bed2f6f11c5605fe54a4",
    "kodim08.png": "ba23983c76b4832ee0e8af0592664756841a16779acd69f792e268fb6d13d6e7",
    "kodim09.png": "6a4361c2fc194feb4edaa9f9a4a0620fb9943e460ac7fdf037fb0f6dd6607a7d",
    "kodim10.png": "9dfb70f5867c29ff9ed6313683f19b3d867849e40fbc0c4c54a4a89df341cf23",
    "kodim11.png": "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",
    "kodim12.png": "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",
    "kodim13.png": "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",
    "kodim14.png": "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",
    "kodim15.png": "7538cbb80cb9103606c48b806eae57d56c885c7f90b9b3be70a41160f9cbb683",
    "kodim16.png": "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",
    "kodim17.png": "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",
    "kodim18.png": "1a9258c365988961d87a0598725b609139c303ad48a5aad6c503c3b1a87849aa",
    "kodim19.png": "b7450b264b1b0a411390d8931b112c27905a992520fc90569dc4b920aa32bbdc",
    "kodim20.png": "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",
    "kodim21.png": "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",
    "kodim22.png": "1cee58eb1f2d9c7ebb254d208a03c783ce6cf2c4d8c2cf45e235dd23b4ce1b29",
    "kodim23.png": "e3111a2fd4da24af15d6459ef9eacfe54106b38e27b4a21821b75c3f5d2d5baf",
    "kodim24.png": "1071c68372cc5a01435c2c225a5cf7d4bb803846ec08bb6b3d6721b156d7cb96",
}


class DataError(ValueError):
    """Data that is missing, unreadable, or not the pixels the data README lists."""


TRAIN_STRIPS = 5  # CIFAR-10 train is stored as five PNG strips of 10,000 images
TRAIN_IMAGES = 50_000
CIFAR_SIDE = 32


def cifar10_train(data_dir: str | Path) -> np.ndarray:
    """CIFAR-10 train as (N, 32, 32, 3) uint8: all 50,000 images, or the first strips of them where a data
    folder holds only those (a lent GPU machine takes 64 MiB of files, less than the five strips). A strip is
    the shared PNG (``train_x_K.png``) or its WebP-lossless grid (``train_x_K.webp``, ``pack_grid``)."""
    root = Path(data_dir) / "cifar10"
    strips = _strips([root / f"train_x_{k}.png" for k in range(TRAIN_STRIPS)], CIFAR_SIDE)
    if not strips or any((root / f"train_x_{k}.{e}").exists() for k in range(len(strips), TRAIN_STRIPS)
                         for e in ("png", "webp")):
        raise DataError(f"{root}: CIFAR-10 train strips missing (want train_x_0.png or .webp, then 1, 2, ... in order)")
    return np.concatenate(strips)


def _strips(pngs: list[Path], side: int) -> list[np.ndarray]:
    """The strips of side x side RGB images in order, each from its PNG or else the WebP grid of the same name
    (``pack_grid``), up to the first that has neither."""
    strips = []
    for png in pngs:
        if png.exists():
            strips.append(read_strip(png, side))
        elif png.with_suffix(".webp").exists():
            strips.append(_grid(png.with_suffix(".webp"), side))
        else:
            break
    return strips


def read_strip(png: Path, side: int) -> np.ndarray:
    """A PNG strip of side x side RGB images stacked vertically, as (N, side, side, 3)."""
    return np.asarray(Image.open(png).convert("RGB")).reshape(-1, side, side, 3)


def _grid(path: Path, side: int) -> np.ndarray:
    return unpack_grid(np.asarray(Image.open(path).convert("RGB")), side)


PHOTO_STRIPS = 4  # the photo crops' training set is stored as four PNG strips of 64x64 crops
PHOTO_SIDE = 64


def photo_train(data_dir: str | Path) -> np.ndarray:
    """The natural-photo training crops as (N, 64, 64, 3) uint8 (``photos/`` in the shared data: 8,103 crops of
    539 photographs, none from a test set), from its PNG strips or their WebP grids (``pack_grid``)."""
    root = Path(data_dir) / "photos"
    strips = _strips([root / f"train_{k}.png" for k in range(PHOTO_STRIPS)], PHOTO_SIDE)
    if not strips:
        raise DataError(f"{root}: photo training strips missing (want train_0.png ... train_{PHOTO_STRIPS - 1}.png)")
    return np.concatenate(strips)


def photo_val(data_dir: str | Path) -> np.ndarray:
    """The 500 validation crops (64x64) from 40 photographs with no training crop: what photo models are
    evaluated and chosen on."""
    path = Path(data_dir) / "photos" / "val_x.npy"
    if path.exists():
        return np.load(path)
    if path.with_suffix(".webp").exists():
        return _grid(path.with_suffix(".webp"), PHOTO_SIDE)
    raise DataError(f"{path}: photo validation crops missing")


GRID_COLUMNS = 100  # images per row of a packed grid, when their count allows


def pack_grid(images: np.ndarray) -> np.ndarray:
    """(N, S, S, C) images as one (rows * S, columns * S, C) picture, row-major: the shape in which WebP
    lossless stores CIFAR-10 strips smaller than PNG does (docs/training.md, On a lent GPU: 64 MiB a call)."""
    n, side = images.shape[:2]
    cols = GRID_COLUMNS if n % GRID_COLUMNS == 0 else n
    return images.reshape(n // cols, cols, side, side, -1).transpose(0, 2, 1, 3, 4).reshape(
        n // cols * side, cols * side, -1)


def unpack_grid(grid: np.ndarray, side: int) -> np.ndarray:
    """``pack_grid``'s images back, (N, side, side, C)."""
    rows, cols = grid.shape[0] // side, grid.shape[1] // side
    return grid.reshape(rows, side, cols, side, -1).transpose(0, 2, 1, 3, 4).reshape(rows * cols, side, side, -1)


def train_data_text(images: int, view: str = "cifar10", photos: float = 0.0, crop: int = 0) -> str:
    """What a model card says a model was trained on: a run on a GPU machine may see only the first strips;
    a run may draw a share of each batch (`photos`, 1 for all of it) from the natural-photo crops."""
    subset = (f"CIFAR-10 train ({TRAIN_IMAGES:,} images)" if images >= TRAIN_IMAGES else
              f"the first {images:,} of CIFAR-10's {TRAIN_IMAGES:,} training images")
    if photos >= 1.0:
        subset = "the natural-photo training crops (shared/data/photos, 64x64)"
    elif photos > 0.0:
        subset = f"{subset} and the natural-photo training crops, {photos:g} of each batch"
    cropped = f", random {crop}x{crop} crops" if crop else ""
    return subset + cropped + ", random horizontal flips" + ("" if view == "cifar10" else f", as {view}")


def cifar10_test(data_dir: str | Path) -> np.ndarray:
    """CIFAR-10 test as (10000, 32, 32, 3) uint8, rows sorted by class."""
    return np.load(Path(data_dir) / "cifar10" / "test_x.npy")


def rgb8_labels(x: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) uint8 -> label maps (B, 1, H, W) of 8 classes, class = 4 [R >= 128] + 2 [G >= 128] + [B >= 128].

    Each pixel's nearest corner of the RGB cube (a fixed 8-colour palette, no dithering): maps with
    large regions and ragged borders, a stand-in for segmentation maps (the DDF paper used Cityscapes
    with 8 classes), derived from CIFAR-10 because no labelled segmentation set ships with this project.
    """
    bits = torch.tensor([4, 2, 1], dtype=torch.uint8, device=x.device).view(1, 3, 1, 1)
    return ((x >= 128).to(torch.uint8) * bits).sum(dim=1, keepdim=True, dtype=torch.uint8)


def grey_planes(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) uint8 colour -> (B, 1, H, W) grey as Pillow's convert("L") makes it (ITU-R 601-2 luma in
    16-bit fixed point): what training shows the ARDM of grey images, palette indices and alpha planes."""
    x = x.to(torch.int64)
    return ((x[:, 0:1] * 19595 + x[:, 1:2] * 38470 + x[:, 2:3] * 7471 + 0x8000) >> 16).to(torch.uint8)


def training_view(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """What a model trains on, from batches of CIFAR-10 images (B, 3, H, W): the images, or RGB8 label maps."""
    views = {"cifar10": lambda x: x, RGB8: rgb8_labels}
    if name not in views:
        raise DataError(f"unknown training data '{name}' (known: {', '.join(views)})")
    return views[name]


def spread_subset(n_total: int, n: int | None) -> np.ndarray:
    """Indices of n rows spread evenly over a set (all rows for None): the CIFAR test rows are sorted by class."""
    n = n_total if n is None else min(n, n_total)
    return (np.arange(n) * n_total) // n


def check_sha256(what: str, data: bytes | np.ndarray, expected: str) -> None:
    """Refuse data whose sha256 differs from the README's: numbers on other pixels would not compare."""
    digest = hashlib.sha256(np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data).hexdigest()
    if digest != expected:
        raise DataError(f"{what}: sha256 {digest[:16]}... is not the listed {expected[:16]}... (other pixels)")


@dataclass(frozen=True)
class ImageSet:
    """A benchmark set: names known up front (for progress bars and resuming), pixels read one at a time."""

    names: list[str]
    read: Callable[[int], np.ndarray]  # index into names -> uint8 image (H, W) or (H, W, C)

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return ((name, self.read(i)) for i, name in enumerate(self.names))


def images(dataset: str, data_dir: str | Path, limit: int | None = None) -> ImageSet:
    """The images of a benchmark set, spread over the set when limited.

    `dataset` is one of BENCHMARK_SETS under `data_dir`, RGB8 (CIFAR-10 test as label maps), GREY (CIFAR-10 test
    converted to grey), or "folder": every image file in `data_dir`.
    """
    root = Path(data_dir)
    if dataset == "folder":
        return _folder(root, limit)
    if dataset in ("cifar10", "imagenet32", "imagenet64", RGB8, GREY):
        rel = "cifar10/test_x.npy" if dataset in ("cifar10", RGB8, GREY) else f"imagenet_sample/x{dataset[-2:]}.npy"
        x = _load_npy(root / rel)
        check_sha256(str(root / rel), x, ARRAY_SHA256[rel])
        prefix = {"cifar10": "cifar10-test", RGB8: "cifar10-rgb8-test", GREY: "cifar10-grey-test"}.get(dataset, dataset)
        rows = spread_subset(len(x), limit)
        view = {RGB8: _one_plane(rgb8_labels), GREY: _one_plane(grey_planes)}.get(dataset, np.asarray)
        return ImageSet([f"{prefix}-{i}" for i in rows], lambda k: view(x[rows[k]]))
    if dataset == "kodak":
        names = sorted(KODAK_SHA256)
        files = [root / "kodak" / names[i] for i in spread_subset(len(names), limit)]
        return ImageSet([f.stem for f in files], lambda k: _kodak(files[k]))
    raise DataError(f"unknown dataset '{dataset}' (known: {', '.join(BENCHMARK_SETS)}, {RGB8}, {GREY}, folder)")


def _one_plane(batch_view: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[np.ndarray], np.ndarray]:
    """A view of batches (B, 3, H, W) -> (B, 1, H, W) applied to one (H, W, 3) image, giving the (H, W) plane
    it is coded as (an L image): RGB8 label maps, grey conversions."""
    return lambda image: batch_view(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None])[0, 0].numpy()


def _kodak(path: Path) -> np.ndarray:
    raw = _read(path)
    check_sha256(str(path), raw, KODAK_SHA256[path.name])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from None


def _folder(root: Path, limit: int | None) -> ImageSet:
    """Image files by name, not recursive."""
    suffixes = set(Image.registered_extensions())
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in suffixes) if root.is_dir() else []
    if not files:
        raise DataError(f"{root}: no image files")
    files = [files[i] for i in spread_subset(len(files), limit)]
    return ImageSet([f.name for f in files], lambda k: _eight_bit(files[k]))


def _eight_bit(path: Path) -> np.ndarray:
    """8-bit L, RGB and RGBA as they are, other 8-bit modes as RGB(A); deeper images refused."""
    try:
        with Image.open(path) as im:
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                raise DataError(f"{path}: {im.mode} images are not 8-bit")
            if im.mode not in ("L", "RGB", "RGBA"):
                im = im.convert("RGBA" if im.has_transparency_data else "RGB")
            return np.asarray(im)
    except (OSError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
