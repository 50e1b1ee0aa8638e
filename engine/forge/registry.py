"""The agent registry: one directory per agent, in formats that cannot run code.

Layout of ``<models_dir>/<agent_id>/``::

    agent.json      metadata: symbol, timeframe, feature set id and names, data ranges,
                    seed, ensemble members, metrics, gauntlet report, trade stats, and
                    each specialist's description (GP expression string, scaler,
                    calibration parameters, thresholds, top features by gain)
    model.txt       LightGBM booster as text            (LightGBM specialists)
    model.json      XGBoost booster as JSON             (XGBoost specialists)
    manifest.json   SHA-256 of every file above

``load_bundle`` checks every hash before reading anything else and rebuilds
the specialists from text: GP trees are parsed against the fixed primitive set,
boosters are loaded by their own libraries, calibration is plain floats.
Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.core.errors import DataError
from engine.forge.ensemble import ensemble_signals
from engine.forge.specialists import (
    GBMSpecialist,
    GPSpecialist,
    RobustScaler,
    SigmoidCalibration,
    Specialist,
    load_lightgbm,
    load_xgboost,
)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
METADATA = "agent.json"
MAX_FILE_BYTES = 256 * 2**20
_AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MODEL_FILES = {"lightgbm": "model.txt", "xgboost": "model.json"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_agent_id(agent_id: str) -> str:
    if not _AGENT_ID_RE.match(agent_id):
        raise DataError(f"agent id {agent_id!r} is not a safe directory name")
    return agent_id


@dataclass(frozen=True)
class AgentBundle:
    """A registered agent: its specialists and metadata, ready to produce signals."""

    agent_id: str
    path: Path
    metadata: dict[str, Any]
    specialists: tuple[Specialist, ...]
    feature_names: tuple[str, ...] = field(default=())

    @property
    def symbol(self) -> str:
        return str(self.metadata["symbol"])

    @property
    def feature_set_id(self) -> str:
        return str(self.metadata["feature_set_id"])

    def votes(self, features: pd.DataFrame) -> np.ndarray:
        """Each specialist's HOLD/ENTRY/EXIT per row: shape (specialists, rows).

        The frame must hold every model column, finite (``DataError`` otherwise).
        """
        from engine.features.sanitize import check_finite

        missing = [n for n in self.feature_names if n not in features.columns]
        if missing:
            raise DataError(f"agent {self.agent_id}: feature frame lacks columns {missing}")
        check_finite(features.loc[:, list(self.feature_names)], f"agent {self.agent_id}")
        return np.stack([s.signals(features) for s in self.specialists])

    def signals(
        self, features: pd.DataFrame, weights: Sequence[float] | np.ndarray | None = None
    ) -> np.ndarray:
        """The ensemble's HOLD/ENTRY/EXIT per row (``engine.forge.ensemble.ensemble_signals``).

        With the default equal weights these are the signals the gauntlet judged;
        a live agent may pass its own (Hedge) weights, one per specialist. One
        specialist: its own signals.
        """
        return ensemble_signals(self.votes(features), weights)


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _specialist_payload(
    specialists: Sequence[Specialist],
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    described: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for i, spec in enumerate(specialists):
        entry = spec.describe()
        if isinstance(spec, GBMSpecialist):
            name = _MODEL_FILES[spec.kind]
            if name in files:
                stem, ext = name.split(".")
                name = f"{stem}_{i}.{ext}"
            if spec.kind == "lightgbm":
                files[name] = spec.booster.model_to_string().encode()
            else:
                files[name] = bytes(spec.booster.save_raw(raw_format="json"))
            entry["file"] = name
        described.append(entry)
    return described, files


def save_bundle(
    models_dir: Path,
    agent_id: str,
    specialists: Sequence[Specialist],
    metadata: Mapping[str, Any],
) -> Path:
    """Write an agent directory atomically (temporary directory, then rename)."""
    check_agent_id(agent_id)
    if not specialists:
        raise ValueError("an agent needs at least one specialist")
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / agent_id
    if final.exists():
        raise FileExistsError(f"agent {agent_id} already registered at {final}")
    described, files = _specialist_payload(specialists)
    names = sorted({n for s in specialists for n in s.feature_names})
    meta = dict(metadata) | {
        "format_version": FORMAT_VERSION,
        "agent_id": agent_id,
        "feature_names": names,
        "specialists": described,
    }
    files[METADATA] = _json_bytes(meta)
    tmp = models_dir / f".{agent_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        manifest = {
            "format_version": FORMAT_VERSION,
            "files": {
                name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())
            },
        }
        (tmp / MANIFEST).write_bytes(_json_bytes(manifest))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _read_json(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} does not hold a JSON object")
    return data


def verify_manifest(path: Path) -> dict[str, str]:
    """Check every file listed in the manifest against its SHA-256; return the listing."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{path} has no {MANIFEST}; refusing to load")
    manifest = _read_json(manifest_path)
    files = manifest.get("files")
    if manifest.get("format_version") != FORMAT_VERSION or not isinstance(files, dict):
        raise DataError(f"{manifest_path}: unsupported manifest")
    if METADATA not in files:
        raise DataError(f"{manifest_path} does not cover {METADATA}")
    for name, expected in files.items():
        if not isinstance(name, str) or not _FILE_RE.match(name) or name == MANIFEST:
            raise DataError(f"{manifest_path}: illegal file name {name!r}")
        target = path / name
        if not target.is_file():
            raise DataError(f"agent bundle {path.name}: {name} is missing")
        if target.stat().st_size > MAX_FILE_BYTES:
            raise DataError(f"agent bundle {path.name}: {name} is too large")
        actual = sha256_file(target)
        if actual != expected:
            raise DataError(
                f"agent bundle {path.name}: {name} fails its SHA-256 check (tampered or corrupt);"
                " refusing to load"
            )
    return {str(k): str(v) for k, v in files.items()}


def _load_specialist(path: Path, entry: Mapping[str, Any], files: Mapping[str, str]) -> Specialist:
    kind = entry.get("kind")
    names = tuple(str(n) for n in entry.get("feature_names", ()))
    if kind == "gp":
        scaler = entry["scaler"]
        return GPSpecialist(
            expression=str(entry["expression"]),
            feature_names=names,
            scaler=RobustScaler(
                tuple(map(float, scaler["median"])), tuple(map(float, scaler["scale"]))
            ),
        )
    if kind in _MODEL_FILES:
        name = str(entry["file"])
        if name not in files:
            raise DataError(f"agent bundle {path.name}: {name} is not in the manifest")
        data = (path / name).read_bytes()
        booster = load_lightgbm(data.decode()) if kind == "lightgbm" else load_xgboost(data)
        cal = entry["calibration"]
        if cal.get("method") != "sigmoid":
            raise DataError(f"unsupported calibration {cal.get('method')!r}")
        sets = tuple(tuple((float(a), float(b)) for a, b in pairs) for pairs in cal["sets"])
        score = cal.get("score", "predict_proba")
        if score not in ("decision_function", "predict_proba"):
            raise DataError(f"unsupported calibration score {score!r}")
        return GBMSpecialist(
            kind=kind,
            booster=booster,
            feature_names=names,
            calibration=SigmoidCalibration(sets, score),
            entry_threshold=float(entry["entry_threshold"]),
            exit_threshold=float(entry["exit_threshold"]),
        )
    raise DataError(f"unknown specialist kind {kind!r}")


def load_bundle(path: Path) -> AgentBundle:
    """Verify the manifest, then rebuild the agent from its safe files."""
    path = Path(path)
    files = verify_manifest(path)
    meta = _read_json(path / METADATA)
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path}: unsupported agent format {meta.get('format_version')!r}")
    try:
        specialists = tuple(_load_specialist(path, e, files) for e in meta["specialists"])
        return AgentBundle(
            agent_id=check_agent_id(str(meta["agent_id"])),
            path=path,
            metadata=meta,
            specialists=specialists,
            feature_names=tuple(str(n) for n in meta["feature_names"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: malformed agent metadata ({exc!r})") from None


def list_agents(models_dir: Path) -> list[str]:
    """Agent ids registered under ``models_dir`` (directories with a manifest)."""
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if (p / MANIFEST).is_file())
