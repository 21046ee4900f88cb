"""The model registry: every model a file can name, with the sha256 of its shipped weights.

A file records the model's number and a tag of its weights hash, so a file is only ever decoded
with the exact weights that wrote it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ardmzip.codecs.autoregressive import SteppedModel
from ardmzip.codecs.flow import FLOW_BUDGET
from ardmzip.models.coding_model import load_coding_model

from .errors import ModelError

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY_VERSION = 1


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model_id: int  # the number written into files; never reused for other weights
    path: Path
    sha256: str
    default_budget: int
    description: str

    @property
    def weights_tag(self) -> bytes:
        return bytes.fromhex(self.sha256[:8])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Registry:
    def __init__(self, entries: list[ModelEntry], default: str):
        self.entries = {e.name: e for e in entries}
        self.default = default
        self._loaded: dict[str, SteppedModel] = {}

    def names(self) -> list[str]:
        """Every name `get` accepts: registry names and the weights files' stems."""
        return sorted({*self.entries, *(e.path.stem for e in self.entries.values())})

    def get(self, name: str | None = None) -> ModelEntry:
        """By registry name, or by the stem of its weights file: `ardm-mix-c10-v10` names v10 both while it
        is the default `ardm-mix-c10` and after a newer default takes that name, so a benchmark or script
        that names the file keeps meaning the same weights."""
        name = name or self.default
        if name in self.entries:
            return self.entries[name]
        for e in self.entries.values():
            if e.path.stem == name:
                return e
        raise ModelError(f"unknown model '{name}' (available: {', '.join(sorted(self.entries))})")

    def by_id(self, model_id: int) -> ModelEntry:
        for e in self.entries.values():
            if e.model_id == model_id:
                return e
        raise ModelError(f"file needs model number {model_id}, which this version of ardmzip does not have")

    def load(self, entry: ModelEntry) -> SteppedModel:
        """The model with verified weights (cached)."""
        if entry.name not in self._loaded:
            if not entry.path.is_file():
                raise ModelError(f"weights of model '{entry.name}' are missing: {entry.path}")
            digest = file_sha256(entry.path)
            if digest != entry.sha256:
                raise ModelError(f"weights of model '{entry.name}' do not match the registry "
                                 f"(sha256 {digest[:16]}..., expected {entry.sha256[:16]}...)")
            self._loaded[entry.name] = load_coding_model(entry.path)
        return self._loaded[entry.name]


def _shipped(name: str, model_id: int, weights: str, default_budget: int, sha256: str, about: str) -> ModelEntry:
    """A model whose weights `weights`.safetensors ship in WEIGHTS_DIR beside their card, `weights`.md."""
    return ModelEntry(name, model_id, WEIGHTS_DIR / f"{weights}.safetensors", sha256, default_budget,
                      f"{about}; see {weights}.md")


def _flow(name: str, model_id: int, weights: str, sha256: str, about: str) -> ModelEntry:
    """A discrete flow makes one pass, so its default budget is the one its files record."""
    return _shipped(name, model_id, weights, FLOW_BUDGET, sha256, about)


REGISTRY = Registry(
    [
        _shipped("ardm-c10", 1, "ardm-c10-v1", 64,
                 "6bf9e242ef4a7df92275e62e067dbea8a133a30babb4fd1465478f99fdc5a2fa",
                 "OA-ARDM, 0.5M parameters, trained on CIFAR-10 train (CPU)"),
        _shipped("ardm-mix-c10-v1", 2, "ardm-mix-c10-v1", 32,
                 "c2c96532d9db99f4cfca0105941e0a6e0ca4875e993dff3843c4528bc74486f2",
                 "First logistic-mixture OA-ARDM (kept for its files)"),
        _shipped("ardm-mix-c10", 22, "ardm-mix-c10-v14", 32,
                 "8f9afa39874745fd21fcaed37c964544e1bc542c2cf1228c90f9099b08a64a83",
                 "ARDM, logistic-mixture head, planned budget, dispersed orders, trained on the coder's calls of "
                 "colour images and grey planes, 0.45M parameters, CIFAR-10 train (CPU, 1,188 min)"),
        _shipped("ardm-mix-c10-v13", 20, "ardm-mix-c10-v13", 32,
                 "f298504d64f16c56d5d2863d1ab1a651f9df593b78398f90ed5bed70274811c3",
                 "Thirteenth logistic-mixture ARDM, the first trained on grey planes too, the default before v14 "
                 "(kept for its files)"),
        _shipped("ardm-mix-c10-v12", 19, "ardm-mix-c10-v12", 32,
                 "c5d49756a5da2a8232deced6efec1644907e6c15855203f11d5c8fe2511273e1",
                 "Twelfth logistic-mixture ARDM, the first trained on the coder's calls (colour only), the default "
                 "before v13 (kept for its files)"),
        _shipped("ardm-mix-c10-v11", 18, "ardm-mix-c10-v11", 32,
                 "7bc830dc94124e6455108ddb99780ab8c5577248be8222038717001093bbcccb",
                 "Eleventh logistic-mixture OA-ARDM, the first in dispersed orders, the default before v12 (kept for its files)"),
        _shipped("ardm-mix-c10-v10", 17, "ardm-mix-c10-v10", 32,
                 "073dda68d13fff66a04e01254d0521b7b50c2a9f1ad3088f22604dcfced38287",
                 "Tenth logistic-mixture OA-ARDM, the default before v11 (kept for its files)"),
        _shipped("ardm-mix-c10-v9", 16, "ardm-mix-c10-v9", 32,
                 "0309a5151aafff2411b22955a5f1a271b82bf8adc45c2a183f8dcbcef60aa7fd",
                 "Ninth logistic-mixture OA-ARDM, the default before v10 (kept for its files)"),
        _shipped("ardm-mix-c10-v8", 15, "ardm-mix-c10-v8", 32,
                 "67c8e7c3430e0d7f3b8ff18df04d6f44d92d3164da75d27507e7650192d0fdea",
                 "Eighth logistic-mixture OA-ARDM, the default before v9 (kept for its files)"),
        _shipped("ardm-mix-c10-v7", 14, "ardm-mix-c10-v7", 32,
                 "8573c98691154477538d27cda1b94b2d62a7d24331cad00b058c569e4477b1e4",
                 "Seventh logistic-mixture OA-ARDM, the default before v8 (kept for its files)"),
        _shipped("ardm-mix-c10-v6", 13, "ardm-mix-c10-v6", 32,
                 "717e765628b677b513e664c985630bc4f9bc8a7b2ea2f71f867393f184a12b62",
                 "Sixth logistic-mixture OA-ARDM, the default before v7 (kept for its files)"),
        _shipped("ardm-mix-c10-v5", 12, "ardm-mix-c10-v5", 32,
                 "e70c84582325db7eee6a047366fb07407cf24ef7cc572daabf7d7951486caa5b",
                 "Fifth logistic-mixture OA-ARDM, the default before v6 (kept for its files)"),
        _shipped("ardm-mix-c10-v4", 11, "ardm-mix-c10-v4", 32,
                 "a1289d76ecf9266d3f4967312dc1e31d25a74e5d99385803230339bea2146c6e",
                 "Fourth logistic-mixture OA-ARDM, the default before v5 (kept for its files)"),
        _shipped("ardm-mix-c10-v3", 10, "ardm-mix-c10-v3", 32,
                 "44ba038ab2748b52ee64736874bc259870acc46d4c095efe00e5be7230ffc851",
                 "Third logistic-mixture OA-ARDM, the default before v4 (kept for its files)"),
        _shipped("ardm-mix-c10-v2", 7, "ardm-mix-c10-v2", 32,
                 "44f50ea49ad34e240ba3f716f943d3fb87a1a6e6c9651352d48e807c63b0adbc",
                 "Second logistic-mixture OA-ARDM, the default before v3 (kept for its files)"),
        _shipped("ardm-up4-c10-v1", 3, "ardm-up4-c10-v1", 32,
                 "97925eaf6be44cb886606dd534d3e87d69ef27d1254e81002372b976d901c90e",
                 "First depth-upscaling ARDM: noisy L_t, even stage shares (kept for its files)"),
        _shipped("ardm-up4-c10", 23, "ardm-up4-c10-v4", 32,
                 "c4d86bd8452a74b0be85838c1dfadae13b581f9482a71e7b475870b3100936bf",
                 "Depth-upscaling ARDM (branching 4), v3 trained on the coder's calls in dispersed orders, "
                 "colour and grey: smaller than the default from budget 32 up, about 7% slower"),
        _shipped("ardm-up4-c10-v3", 21, "ardm-up4-c10-v3", 32,
                 "5382d7ed039d54219b794b81fa74844ca146a5ecfaaf1ace6eecc89318e89eae",
                 "Depth-upscaling ARDM (branching 4) fine-tuned from ardm-mix-c10-v13, dispersed orders, "
                 "colour and grey (kept for its files)"),
        _shipped("ardm-up4-c10-v2", 6, "ardm-up4-c10-v2", 32,
                 "874eb546ea8f1fac775a86982f37118ce0649df2f606e0759991af68fdb00ec5",
                 "Depth-upscaling ARDM (branching 4), v1's network with measured L_t and stage shares planned "
                 "(kept for its files)"),
        _flow("idf-c10", 4, "idf-c10-v1", "5d19c0707bef6839528d46139ed2cd5195831d4fcb32e99fcbd2f905caa9aad3",
              "Integer Discrete Flow, 3 levels x 4 couplings, 0.78M parameters, CIFAR-10 train (CPU)"),
        _flow("df-c10", 5, "df-c10-v1", "6105d4c799046b68f030cedb51c17cefc43783efb2cd4a0ca37d844c2178ff3f",
              "Discrete Flow (modular, 4 couplings), trained only 12 CPU minutes: larger than PNG"),
        _flow("ddf-c10", 8, "ddf-c10-v1", "a89e8795ea3cf254c9075ce490cc237ba1d28e75d65926d94d3d54e73375880e",
              "Discrete Denoising Flow, 4 levels x 2 couplings, green first, 1.55M parameters, CIFAR-10 train "
              "(CPU, 26 min)"),
        _flow("ddf-rgb8", 9, "ddf-rgb8-v1", "c5eb8da7624f5d871aa807c038b7ea9bbfde091d8f11aef19b13ae412971bde7",
              "Discrete Denoising Flow for 8-class label maps (L or P images, values 0-7), CIFAR-10 train "
              "as RGB8 maps (CPU, 42 min)"),
    ],
    default="ardm-mix-c10",
)
