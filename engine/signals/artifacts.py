"""Safe model artifacts: a torch state dict plus JSON metadata carrying its hash.

Loading uses ``torch.load(..., weights_only=True)``, so an artifact cannot run
code (DESIGN invariant 7); the metadata's SHA-256 catches a mismatched pair.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from engine.core.errors import OperationalError

WEIGHTS_FILE = "model.pt"
METADATA_FILE = "metadata.json"


class ModelUnavailable(OperationalError):
    """No usable trained model: missing, unreadable, or not matching its metadata."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_torch_artifact(
    directory: Path, state_dict: dict[str, Any], metadata: dict[str, Any]
) -> Path:
    """Write ``model.pt`` and ``metadata.json`` (with the weights' hash) into ``directory``."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / WEIGHTS_FILE
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, weights)
    meta = dict(metadata, weights_file=WEIGHTS_FILE, weights_sha256=sha256_of(weights))
    (directory / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return directory


def read_metadata(directory: Path) -> dict[str, Any]:
    """Read ``metadata.json`` or raise ``ModelUnavailable`` saying what is wrong."""
    path = directory / METADATA_FILE
    if not path.is_file():
        raise ModelUnavailable(f"no trained model at {directory} ({METADATA_FILE} missing)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelUnavailable(f"unreadable model metadata {path}: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelUnavailable(f"model metadata {path} is not a JSON object")
    return meta


def load_torch_artifact(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(state_dict, metadata)``, checking the weights against the recorded hash."""
    import torch

    meta = read_metadata(directory)
    weights = directory / str(meta.get("weights_file", WEIGHTS_FILE))
    if not weights.is_file():
        raise ModelUnavailable(f"model weights missing: {weights}")
    if sha256_of(weights) != meta.get("weights_sha256"):
        raise ModelUnavailable(f"model weights {weights} do not match their metadata hash")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelUnavailable(f"cannot load model weights {weights}: {exc}") from None
    if not isinstance(state, dict):
        raise ModelUnavailable(f"model weights {weights} are not a state dict")
    return state, meta
