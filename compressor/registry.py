"""The model registry: every model a file can name, with the sha256 of its shipped weights.

A file records the model's number and a tag of its weights hash, so a file is only ever decoded
with the exact weights that wrote it.

The registry is data, `weights/registry.json`, read by `load_registry`:

* ``models``: the release set, each with its ``name``, ``number`` (the model id files record),
  ``family`` (the family its weights file records), ``weights`` (a file beside the registry),
  ``sha256`` of those weights, ``default_budget``, ``card`` (the model card beside it: training
  command and figures) and a one-line ``description``;
* ``default``: the name of the model used when none is given;
* ``retired``: numbers that left the release set, each with the ``name`` and ``weights`` it had and
  the ``last_commit`` that shipped it. A retired number is never given to other weights: files that
  name it decode only with an ardmzip from that commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ardmzip.codecs.coding_model import AnyModel
from ardmzip.codecs.flow import FLOW_BUDGET
from ardmzip.models.coding_model import load_coding_model
from ardmzip.models.flow_files import FAMILIES as FLOW_FAMILIES  # one pass: their files record FLOW_BUDGET

from .errors import ModelError

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY_FILE = WEIGHTS_DIR / "registry.json"
REGISTRY_VERSION = 1
MAX_MODEL_NUMBER = 255  # a file records the number in one byte; 0 is a model file given by path


@dataclass(frozen=True)
class ModelEntry:
    name: str
    model_id: int  # the number written into files; never reused for other weights
    path: Path
    sha256: str
    default_budget: int
    description: str
    family: str = ""  # the family the weights file records (oa-ardm, idf, discrete-flow, ddf)
    card: Path | None = None  # the model card: what it is, the training command, the figures

    @property
    def weights_tag(self) -> bytes:
        return bytes.fromhex(self.sha256[:8])


@dataclass(frozen=True)
class RetiredModel:
    """A number no longer shipped: its files decode with ardmzip at `last_commit`, and never with other weights."""
    name: str
    model_id: int
    weights: str  # the weights file it had
    sha256: str
    last_commit: str

    @property
    def label(self) -> str:
        stem = Path(self.weights).stem
        return f"model number {self.model_id} ({self.name}{f', weights {stem}' if stem != self.name else ''})"

    def no_longer_shipped(self) -> str:
        return f"{self.label} is no longer shipped: its files decode with ardmzip at commit {self.last_commit}"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Registry:
    def __init__(self, entries: list[ModelEntry], default: str, retired: list[RetiredModel] = (),
                 default_above: tuple[int, str] | None = None):
        self.entries = {e.name: e for e in entries}
        self.default = default
        self.default_above = default_above  # (pixels, model): images of more pixels default to that model
        self.retired = {r.model_id: r for r in retired}
        self._loaded: dict[str, AnyModel] = {}

    def default_for(self, pixels: int) -> str:
        """The model an image of `pixels` pixels is coded with when none is named: the default, or for an
        image larger than a thumbnail the model named for those."""
        if self.default_above is not None and pixels > self.default_above[0]:
            return self.default_above[1]
        return self.default

    def names(self) -> list[str]:
        """Every name `get` accepts: registry names and the weights files' stems."""
        return sorted({*self.entries, *(e.path.stem for e in self.entries.values())})

    def get(self, name: str | None = None) -> ModelEntry:
        """By registry name, or by the stem of its weights file: `ardm-mix-c10-v14` names v14 both while it
        is the default `ardm-mix-c10` and after a newer default takes that name, so a benchmark or script
        that names the file keeps meaning the same weights."""
        name = name or self.default
        if name in self.entries:
            return self.entries[name]
        for e in self.entries.values():
            if e.path.stem == name:
                return e
        for r in self.retired.values():
            if name in (r.name, Path(r.weights).stem):
                raise ModelError(f"unknown model '{name}': {r.no_longer_shipped()} "
                                 f"(available: {', '.join(sorted(self.entries))})")
        raise ModelError(f"unknown model '{name}' (available: {', '.join(sorted(self.entries))})")

    def by_id(self, model_id: int) -> ModelEntry:
        for e in self.entries.values():
            if e.model_id == model_id:
                return e
        if model_id in self.retired:
            r = self.retired[model_id]
            raise ModelError(f"file was written with {r.label}, which is no longer shipped: "
                             f"decode it with ardmzip at commit {r.last_commit}")
        raise ModelError(f"file needs model number {model_id}, which this version of ardmzip does not have")

    def load(self, entry: ModelEntry) -> AnyModel:
        """The model with verified weights (cached)."""
        if entry.name not in self._loaded:
            if not entry.path.is_file():
                raise ModelError(f"weights of model '{entry.name}' are missing: {entry.path}")
            data = entry.path.read_bytes()  # read once: hashed, then loaded from these very bytes
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry.sha256:
                raise ModelError(f"weights of model '{entry.name}' do not match the registry "
                                 f"(sha256 {digest[:16]}..., expected {entry.sha256[:16]}...)")
            self._loaded[entry.name] = load_coding_model(data)
        return self._loaded[entry.name]


MODEL_KEYS = {"name", "number", "family", "weights", "sha256", "default_budget", "card", "description"}
RETIRED_KEYS = {"name", "number", "weights", "sha256", "last_commit"}


def registry_from_data(data: dict, weights_dir: Path = WEIGHTS_DIR) -> Registry:
    """The registry a parsed registry.json describes; refuses a number used twice (a retired one included),
    a name or weights file used twice, a default that is not a model, and fields missing or unknown."""
    def fail(why: str):
        raise ModelError(f"model registry: {why}")

    if not isinstance(data, dict) or not {"registry_version", "default", "models", "retired"} <= set(data) \
            or not set(data) <= {"registry_version", "default", "default_above", "models", "retired"}:
        fail("expected the keys registry_version, default, models and retired (and default_above)")
    if data["registry_version"] != REGISTRY_VERSION:
        fail(f"version {data['registry_version']!r}, this ardmzip reads version {REGISTRY_VERSION}")
    numbers: dict[int, str] = {}
    names: set[str] = set()

    def claim(number, name: str, what: str):
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= MAX_MODEL_NUMBER:
            fail(f"{what} '{name}' has number {number!r}, not 1 to {MAX_MODEL_NUMBER}")
        if number in numbers:
            fail(f"number {number} of {what} '{name}' is already {numbers[number]}'s: a number is never reused")
        numbers[number] = name

    def checked(item, keys: set[str], what: str) -> dict:
        if not isinstance(item, dict) or set(item) != keys:
            fail(f"a {what} needs exactly the keys {', '.join(sorted(keys))}: {item!r}")
        if not isinstance(item["sha256"], str) or len(item["sha256"]) != 64 or \
                item["sha256"].strip("0123456789abcdef"):
            fail(f"{what} '{item['name']}' has no sha256 of 64 lower-case hex digits")
        return item

    retired = []
    for item in data["retired"]:
        r = checked(item, RETIRED_KEYS, "retired model")
        claim(r["number"], r["name"], "retired model")
        retired.append(RetiredModel(r["name"], r["number"], r["weights"], r["sha256"], r["last_commit"]))
    entries = []
    for item in data["models"]:
        m = checked(item, MODEL_KEYS, "model")
        claim(m["number"], m["name"], "model")
        weights = weights_dir / m["weights"]
        for name in (m["name"], weights.stem):
            if name in names:
                fail(f"the name '{name}' is used twice")
            names.add(name)
        budget = m["default_budget"]
        if not isinstance(budget, int) or budget < 1 or (m["family"] in FLOW_FAMILIES and budget != FLOW_BUDGET):
            fail(f"model '{m['name']}' has default budget {budget!r}"
                 + (f" (a flow records {FLOW_BUDGET})" if m["family"] in FLOW_FAMILIES else ""))
        entries.append(ModelEntry(m["name"], m["number"], weights, m["sha256"], budget,
                                  f"{m['description']}; see {m['card']}", m["family"], weights_dir / m["card"]))
    if data["default"] not in {e.name for e in entries}:
        fail(f"the default '{data['default']}' is not one of its models")
    above = data.get("default_above")
    if above is not None:
        if not isinstance(above, dict) or set(above) != {"pixels", "model"} or not isinstance(above["pixels"], int) \
                or above["pixels"] < 1 or above["model"] not in {e.name for e in entries}:
            fail(f"default_above needs pixels (a positive integer) and model (one of its models): {above!r}")
        above = (above["pixels"], above["model"])
    return Registry(entries, default=data["default"], retired=retired, default_above=above)


def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    """The registry in a registry.json; weights and cards are files beside it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the model registry {path}: {e}") from None
    return registry_from_data(data, Path(path).parent)


REGISTRY = load_registry()
