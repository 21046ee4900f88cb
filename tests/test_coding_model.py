"""The coding-model contract (codecs/coding_model.py): every model load_coding_model gives satisfies it,
and the layers import one way: the library never its benchmarks, models no coder, benchmarks only the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ardmzip
from ardmzip.codecs import coding_model as contract
from ardmzip.codecs.coding_model import FLOW, KINDS, CodingModel, LatentModel, SteppedModel, is_flow
from ardmzip.models import orders
from ardmzip.models.ardm import SteppedARDM
from ardmzip.models.coding_model import load_coding_model
from ardmzip.models.exact_flow import ExactFlow
from ardmzip.registry import REGISTRY
from tiny_flows import tiny_ddf_entry, tiny_df_entry, tiny_idf_entry
from tiny_model import tiny_entry

ROOT = Path(__file__).parent.parent
PACKAGES = {"compressor": "ardmzip", "codecs": "ardmzip.codecs", "models": "ardmzip.models",
            "benchmarks": "ardmzip.benchmarks"}
PUBLIC_MODULES = ("ardmzip", "ardmzip.datasets", "ardmzip.processes")


def test_the_models_name_the_contract_s_constants():
    """models/ imports no coder, so its copies of the names are checked here."""
    assert orders.RANDOM == contract.RANDOM and contract.RANDOM in orders.FAMILIES
    assert SteppedARDM.kind == contract.AUTOREGRESSIVE and ExactFlow.kind == contract.FLOW
    assert SteppedARDM.classes == ExactFlow.classes == contract.IMAGE_CLASSES


def satisfies(model) -> None:
    assert isinstance(model, CodingModel) and model.kind in KINDS and 2 <= model.classes <= 256
    if is_flow(model):
        assert isinstance(model, LatentModel) and isinstance(model.bounded, bool)
    else:
        assert isinstance(model, SteppedModel) and model.order_family in orders.FAMILIES
        assert 2 <= model.alphabet_size <= model.classes
    assert model.refusal((2, 2, 1) if model.classes < 256 else (2, 2, 3)) is None


@pytest.mark.parametrize("name", sorted(REGISTRY.entries))
def test_every_shipped_model_satisfies_its_protocol(name):
    entry = REGISTRY.entries[name]
    if not entry.path.is_file():
        pytest.skip(f"weights of {name} missing")
    model = REGISTRY.load(entry)
    satisfies(model)
    assert ardmzip.model_info(name).kind == model.kind


@pytest.mark.parametrize("make", [tiny_entry, lambda d: tiny_entry(d, branching=4, order="dispersed"),
                                  tiny_idf_entry, tiny_df_entry, lambda d: tiny_ddf_entry(d, "labels")])
def test_every_family_satisfies_its_protocol(make, tmp_path):
    satisfies(load_coding_model(make(tmp_path).path))


def test_model_info_tells_kind_classes_and_budget(tmp_path):
    ardm = ardmzip.model_info(tiny_entry(tmp_path).path)
    assert (ardm.number, ardm.kind, ardm.classes, ardm.one_pass) == (0, contract.AUTOREGRESSIVE, 256, False)
    flow = ardmzip.model_info(tiny_ddf_entry(tmp_path, "labels").path)
    assert (flow.kind, flow.classes, flow.default_budget, flow.one_pass) == (FLOW, 8, 1, True)


def _imports(path: Path, package: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in a file, relative ones resolved; and modules imported by name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            out.append((str(node.args[0].value), []))
    return out


def _modules(folder: str) -> list[tuple[Path, str, list[str]]]:
    return [(path, module, names) for path in (ROOT / folder).glob("*.py")
            for module, names in _imports(path, PACKAGES[folder])]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _folder(module: str) -> str | None:
    """The folder of ours a module lies in (compressor: ardmzip but not its subpackages), None if none."""
    for folder, package in PACKAGES.items():
        if folder != "compressor" and _within(module, package):
            return folder
    return "compressor" if _within(module, "ardmzip") else None


@pytest.mark.parametrize("folder,forbidden", [
    ("compressor", {"benchmarks"}),
    ("codecs", {"benchmarks", "models", "compressor"}),
    ("models", {"benchmarks", "codecs", "compressor"}),
])
def test_the_layers_import_one_way(folder, forbidden):
    """The library never imports its benchmarks (`ardmzip bench` is an entry point); codecs/ sees models only
    through the protocol; models/ imports neither codecs/ nor the library."""
    for path, module, names in _modules(folder):
        reached = {_folder(module)} | {_folder(f"{module}.{n}") for n in names}
        assert not reached & forbidden, f"{folder}/{path.name} imports {module} {names}"


def test_the_layer_check_sees_an_import(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("from ardmzip import benchmarks\nfrom ..benchmarks.cli import bench\n"
                    "importlib.import_module('ardmzip.benchmarks.cli')\n")
    assert [_folder(m) for m, _ in _imports(path, "ardmzip.models")] == ["compressor", "benchmarks", "benchmarks"]
    assert _folder("ardmzip.benchmarks") == "benchmarks" and _folder("ardmzip.processes") == "compressor"


def test_the_benchmarks_use_only_the_public_api():
    for path, module, names in _modules("benchmarks"):
        if _folder(module) in (None, "benchmarks"):
            continue
        assert module in PUBLIC_MODULES, f"{path.name} imports {module}"
        if module == "ardmzip":
            private = [n for n in names if n not in ardmzip.__all__ and f"ardmzip.{n}" not in PUBLIC_MODULES]
            assert not private, f"{path.name} imports {private} from ardmzip"


def test_bench_is_a_plugin_command():
    from ardmzip.cli import PLUGINS, main

    assert "bench" not in main.commands and main.has_command("bench") and PLUGINS == "ardmzip.commands"


def test_a_model_file_is_read_once(tmp_path, monkeypatch):
    """Loading reads the file's bytes once (a caller that hashed them loads the very bytes it checked)."""
    from ardmzip.models import flow_files, serialization

    entries = [tiny_entry(tmp_path), tiny_idf_entry(tmp_path)]

    def refused(*args, **kwargs):
        raise AssertionError("the model file was opened again")

    for module in (serialization, flow_files):
        monkeypatch.setattr(module, "safe_open", refused)
        monkeypatch.setattr(module, "load_file", refused)
    reads = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or read_bytes(self))
    for entry in entries:
        satisfies(load_coding_model(entry.path))
    assert reads == [e.path for e in entries]
    data = read_bytes(entries[0].path)
    assert load_coding_model(data).net.config == load_coding_model(entries[0].path).net.config
