"""Which model codes a file: a registered name, or a model file the user passes by path.

A model file is read as safetensors only (plain tensors and JSON metadata: nothing in it executes),
must hold a model family this version knows, and must code and decode a small probe image first.
No registry vouches for it, so the compressed file records its whole sha256 (model number
EXTERNAL_MODEL_ID), and decoding needs the very same file back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from ardmzip.codecs.ans import AnsCoder
from ardmzip.codecs.autoregressive import AutoregressiveCodec
from ardmzip.codecs.coding_model import AnyModel, is_flow
from ardmzip.codecs.flow import FlowCodec

from .errors import ModelError
from .header import EXTERNAL_MODEL_ID, weights_tag
from .registry import REGISTRY, ModelEntry, file_sha256

ModelSpec = Union[str, os.PathLike, None]  # a registered name, a model file, or None for the default
SUFFIX = ".safetensors"


def is_model_file(model: ModelSpec) -> bool:
    """A path rather than a registered name: a path object, or a string with a directory part or the suffix."""
    if model is None:
        return False
    if isinstance(model, os.PathLike):
        return True
    return model.endswith(SUFFIX) or any(sep and sep in model for sep in (os.sep, os.altsep))


def resolve(model: ModelSpec) -> ModelEntry:
    """The entry for a registered name (None: the default) or for a model file, hashed now."""
    if not is_model_file(model):
        return REGISTRY.get(model)
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        digest = file_sha256(path)
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    return ModelEntry(name=f"{path} (sha256 {digest})", model_id=EXTERNAL_MODEL_ID, path=path, sha256=digest,
                      default_budget=REGISTRY.get().default_budget, description="model file given by path")


def tag(entry: ModelEntry) -> bytes:
    """The weights tag a file coded with this entry records."""
    return weights_tag(entry.model_id, entry.sha256)


def load(entry: ModelEntry) -> AnyModel:
    """The coding model of an entry; a model file is checked to be a working model of a known family."""
    if entry.model_id != EXTERNAL_MODEL_ID:
        return REGISTRY.load(entry)
    try:
        model = REGISTRY.load(entry)  # hashes the file again, so it cannot change after `resolve`
        _probe(model)
    except ModelError:
        raise
    except Exception as e:  # the file is untrusted input: whatever its contents break is the user's error
        raise ModelError(f"{entry.path}: not a usable ardmzip model file ({e.__class__.__name__}: {e})") from None
    return model


def _probe(model: AnyModel) -> None:
    """Code and decode a 2x2 image, colour and single plane, as coding does: a model that fails, or
    does not decode what it encoded, is refused before it touches a user's image. A flow for class maps
    is probed with the planes it codes (its ``refusal``), values among its classes."""
    shapes = [(2, 2, c) for c in (3, 1) if model.refusal((2, 2, c)) is None]
    if not shapes:
        raise ValueError("the model codes neither colour nor single planes")
    for shape in shapes:
        x = (np.arange(int(np.prod(shape)), dtype=np.int64) * 37 % model.classes).reshape(shape)
        codec = FlowCodec(model, x.shape) if is_flow(model) else AutoregressiveCodec(model, x.shape, budget=2)
        coder = AnsCoder()
        codec.push(coder, x)
        if not np.array_equal(codec.pop(coder), x) or not coder.is_empty():
            raise ValueError("the model does not decode what it encodes")


def for_decoding(model_id: int, file_tag: bytes, model: ModelSpec) -> ModelEntry:
    """The entry that decodes a file with this model number and weights tag; `model` is what the caller passed."""
    if model_id == EXTERNAL_MODEL_ID:
        if model is None:
            raise ModelError(f"file was written with a model file (sha256 {file_tag.hex()}); "
                             f"pass that file as model (--model FILE)")
        entry = resolve(model)
        if tag(entry) != file_tag:
            raise ModelError(f"file was written with the model file of sha256 {file_tag.hex()}, "
                             f"not {model} (sha256 {entry.sha256})")
        return entry
    entry = REGISTRY.by_id(model_id)
    if tag(entry) != file_tag:
        raise ModelError(f"file was written with other weights for model '{entry.name}' "
                         f"(tag {file_tag.hex()}, this version has {tag(entry).hex()})")
    if model is not None and resolve(model).sha256 != entry.sha256:
        raise ModelError(f"file was written with model '{entry.name}', not {model}")
    return entry
