"""Model files passed by path: only working safetensors models of a known family, recorded by their whole
sha256, and needed again (the same file) to decode."""

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import ardmzip
from ardmzip.errors import ModelError
from ardmzip.header import EXTERNAL_MODEL_ID
from ardmzip.model_file import is_model_file
from ardmzip.registry import REGISTRY, file_sha256
from test_image_planes import photo
from tiny_model import tiny_entry


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A model file that is not in the registry (other weights than the registered tiny model)."""
    return tiny_entry(tmp_path_factory.mktemp("own"), seed=3, name="own").path


def same(a, b) -> bool:
    return a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))


def test_round_trip_records_the_whole_sha256(tiny_registry, model_path):
    im = photo("RGB").crop((0, 0, 16, 12))
    data = ardmzip.compress(im, model=model_path, budget=3)
    head = ardmzip.inspect(data)
    assert head.model_id == EXTERNAL_MODEL_ID
    assert head.weights_tag.hex() == file_sha256(model_path)
    assert same(ardmzip.decompress(data, model=model_path), im)
    assert same(ardmzip.decompress(data, model=str(model_path)), im)


def test_decoding_needs_the_same_file(tiny_registry, tiny_model_entry, model_path, tmp_path):
    data = ardmzip.compress(photo("L").crop((0, 0, 8, 8)), model=model_path, budget=2)
    with pytest.raises(ModelError, match=file_sha256(model_path)):
        ardmzip.decompress(data)
    with pytest.raises(ModelError, match="not"):
        ardmzip.decompress(data, model=tiny_model_entry.path)
    tampered = tmp_path / "own.safetensors"
    tampered.write_bytes(model_path.read_bytes()[:-1] + b" ")
    with pytest.raises(ModelError, match="not"):
        ardmzip.decompress(data, model=tampered)


def test_registered_files_refuse_another_model(tiny_registry, tiny_model_entry, model_path):
    im = photo("L").crop((0, 0, 8, 8))
    data = ardmzip.compress(im, budget=2)
    assert same(ardmzip.decompress(data, model=tiny_model_entry.path), im)  # the registered file itself
    with pytest.raises(ModelError, match="written with model 'tiny'"):
        ardmzip.decompress(data, model=model_path)


@pytest.mark.parametrize("head,branching", [("logistic-mixture", 256), ("categorical", 4)])
def test_every_known_family_works_by_path(tiny_registry, tmp_path, head, branching):
    from ardmzip.models.serialization import save_model
    from tiny_model import tiny_integer_net

    path = tmp_path / "net.safetensors"
    save_model(path, tiny_integer_net(6, head, branching))
    im = photo("RGB").crop((0, 0, 7, 5))
    assert same(ardmzip.decompress(ardmzip.compress(im, model=path, budget=2), model=path), im)


class _Payload:
    """Unpickling this writes a marker file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _resaved(src, path, tensors=None, **meta_changes):
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        meta = {**f.metadata(), **meta_changes}
    save_file(load_file(str(src)) if tensors is None else tensors, str(path), metadata=meta)
    return path


def test_only_working_safetensors_models_of_a_known_family(tiny_registry, model_path, tmp_path):
    marker = tmp_path / "executed"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(_Payload(marker)))
    torch.save({"weights": torch.zeros(3)}, tmp_path / "checkpoint.safetensors")
    broken = load_file(str(model_path))
    broken["stem.weight"] = broken["stem.weight"][:, :2].contiguous()  # wrong shape for its config
    bad = {
        evil: "not a usable",
        tmp_path / "checkpoint.safetensors": "not a usable",
        _resaved(model_path, tmp_path / "family.safetensors", family="other-family"): "not an",
        _resaved(model_path, tmp_path / "config.safetensors", config=json.dumps({"width": "x"})): "not a usable",
        _resaved(model_path, tmp_path / "shape.safetensors", tensors=broken): "not a usable",
        tmp_path / "missing.safetensors": "no such model file",
    }
    for path, message in bad.items():
        with pytest.raises(ModelError, match=message):
            ardmzip.compress(photo("L").crop((0, 0, 4, 4)), model=path, budget=1)
    assert not marker.exists()


def test_names_and_paths():
    assert not is_model_file(None) and not is_model_file("ardm-mix-c10")
    assert is_model_file("net.safetensors") and is_model_file("runs/net") and is_model_file(__import__("pathlib").Path("x"))


def test_no_registered_model_uses_the_external_number():
    assert all(e.model_id != EXTERNAL_MODEL_ID for e in REGISTRY.entries.values())


def test_the_package_unpickles_nothing_but_weights_only_checkpoints():
    """Safe loading, by reading the source: every torch.load asks for weights_only=True (training
    checkpoints, never a user's file to compress with), np.load never allows pickles, and no module
    imports pickle or its relatives."""
    import ast
    from pathlib import Path

    root = Path(__file__).parent.parent
    calls = 0
    for path in [p for d in ("compressor", "codecs", "models", "benchmarks") for p in (root / d).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "dill", "joblib", "shelve", "marshal"} & set(names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
                owner = getattr(node.func.value, "id", None)
                keywords = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                if owner == "torch":
                    calls += 1
                    assert keywords.get("weights_only") is True, f"{path}:{node.lineno}"
                if owner == "np":
                    assert keywords.get("allow_pickle") in (None, False), f"{path}:{node.lineno}"
    assert calls >= 3  # the training and export loaders were found
