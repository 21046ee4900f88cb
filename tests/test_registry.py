"""The registry as data: weights/registry.json read by one loader (issue 35 item 2)."""

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest

import ardmzip
from ardmzip.errors import ModelError
from ardmzip.header import pack, unpack
from ardmzip.models.flow_files import family_of
from ardmzip.registry import (REGISTRY, REGISTRY_FILE, WEIGHTS_DIR, file_sha256, load_registry,
                              registry_from_data)

GOLDEN = Path(__file__).parent / "golden"
DATA = json.loads(REGISTRY_FILE.read_text())


def test_the_release_set_is_small_and_every_shipped_file_is_registered():
    """At most 8 weights files, each with its card beside it; nothing else ships in weights/."""
    names = [m["name"] for m in DATA["models"]]
    assert len(names) <= 8 and DATA["default"] == names[0] == REGISTRY.default
    shipped = {p.name for p in WEIGHTS_DIR.iterdir()}
    listed = {m["weights"] for m in DATA["models"]} | {m["card"] for m in DATA["models"]}
    assert shipped == listed | {REGISTRY_FILE.name}, "a weights file, card or folder the registry does not name"
    assert not any(p.is_dir() for p in WEIGHTS_DIR.iterdir()), "training scripts and logs stay out of the package"


def test_entries_match_their_files():
    for m in DATA["models"]:
        entry = REGISTRY.get(m["name"])
        assert (entry.model_id, entry.sha256, entry.default_budget, entry.family) == \
            (m["number"], m["sha256"], m["default_budget"], m["family"])
        assert entry.path == WEIGHTS_DIR / m["weights"] and file_sha256(entry.path) == m["sha256"]
        assert entry.card == WEIGHTS_DIR / m["card"] and entry.card.is_file()
        assert m["sha256"] in entry.card.read_text(), "the card names the file it describes"
        assert family_of(entry.path) == m["family"]
        assert REGISTRY.get(entry.path.stem) is entry


def test_a_retired_number_is_kept_and_never_reused():
    retired = {r["number"] for r in DATA["retired"]}
    live = {m["number"] for m in DATA["models"]}
    assert retired and not retired & live and set(REGISTRY.retired) == retired
    reused = copy.deepcopy(DATA)
    reused["models"][1]["number"] = DATA["retired"][0]["number"]
    with pytest.raises(ModelError, match="never reused"):
        registry_from_data(reused, WEIGHTS_DIR)
    twice = copy.deepcopy(DATA)
    twice["retired"].append(dict(DATA["retired"][0], name="other"))
    with pytest.raises(ModelError, match="never reused"):
        registry_from_data(twice, WEIGHTS_DIR)
    # numbers were given in turn from 1: one missing from both lists is a retired record that was dropped
    assert retired | live == set(range(1, max(retired | live) + 1)), "a number left without its retired record"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["models"][0].update(number=0), "not 1 to 255"),
    (lambda d: d["models"][0].update(number=256), "not 1 to 255"),
    (lambda d: d["models"][2].update(name=d["models"][1]["name"]), "used twice"),
    (lambda d: d["models"][2].update(default_budget=4), "a flow records 1"),
    (lambda d: d["models"][0].pop("card"), "exactly the keys"),
    (lambda d: d["retired"][0].update(sha256="xyz"), "sha256"),
    (lambda d: d.update(default="ardm-mix-c10-v13"), "not one of its models"),
    (lambda d: d.update(registry_version=2), "reads version 1"),
])
def test_the_loader_refuses_a_malformed_registry(change, message):
    data = copy.deepcopy(DATA)
    change(data)
    with pytest.raises(ModelError, match=message):
        registry_from_data(data, WEIGHTS_DIR)


def test_loading_the_file_gives_the_registry(tmp_path):
    again = load_registry()
    assert again.names() == REGISTRY.names() and again.default == REGISTRY.default
    assert [(e.name, e.model_id, e.sha256) for e in again.entries.values()] == \
        [(e.name, e.model_id, e.sha256) for e in REGISTRY.entries.values()]
    (tmp_path / "registry.json").write_text("{")
    with pytest.raises(ModelError, match="cannot read the model registry"):
        load_registry(tmp_path / "registry.json")


def test_a_file_of_a_retired_model_gets_a_clear_error():
    head, payload = unpack((GOLDEN / "mix14_rgb_12x9.ardm").read_bytes())
    retired = next(r for r in DATA["retired"] if r["name"] == "ardm-mix-c10-v13")
    old = pack(replace(head, model_id=retired["number"], weights_tag=bytes.fromhex(retired["sha256"][:8])), payload)
    with pytest.raises(ModelError, match=f"model number 20 \\(ardm-mix-c10-v13\\), which is no longer shipped: "
                                         f"decode it with ardmzip at commit {retired['last_commit']}"):
        ardmzip.decompress(old)
    with pytest.raises(ModelError, match="no longer shipped"):
        REGISTRY.get("ardm-mix-c10-v13")
    with pytest.raises(ModelError, match="which this version of ardmzip does not have"):
        ardmzip.decompress(pack(replace(head, model_id=99), payload))
