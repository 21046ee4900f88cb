from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_model import tiny_entry  # noqa: E402

from ardmzip.registry import REGISTRY  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def tiny_model_entry(tmp_path_factory):
    return tiny_entry(tmp_path_factory.mktemp("models"))


@pytest.fixture
def tiny_registry(tiny_model_entry, monkeypatch):
    """The registry holding only the tiny model, as the default."""
    monkeypatch.setattr(REGISTRY, "entries", {tiny_model_entry.name: tiny_model_entry})
    monkeypatch.setattr(REGISTRY, "default", tiny_model_entry.name)
    monkeypatch.setattr(REGISTRY, "_loaded", {})
    return REGISTRY
