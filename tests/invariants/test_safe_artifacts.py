"""DESIGN invariant 7: model artifacts cannot run code when loaded.

The forge writes GP expression strings, LightGBM text, XGBoost JSON and JSON
metadata with SHA-256 hashes; loading never unpickles anything. These tests scan
the engine for pickle-style persistence and load a real bundle with every
unpickling entry point of the standard library and numpy switched off.
"""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.errors import DataError
from engine.forge.gbm import train_gbm_specialists
from engine.forge.registry import load_bundle, save_bundle
from engine.forge.specialists import GPSpecialist, RobustScaler

ENGINE = Path(__file__).resolve().parents[2] / "engine"
PICKLE_MODULES = ("pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve", "marshal")
NAMES = ("a", "b", "c")


def _parse(path: Path) -> ast.Module:
    source = path.read_text()
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        # CPython 3.11 can report "AST constructor recursion depth mismatch" once after an
        # unrelated failure left its recursion counter off (gh-106905); a second parse is clean.
        return ast.parse(source, filename=str(path))


def _calls_and_imports(path: Path) -> list[str]:
    tree = _parse(path)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", getattr(func, "id", ""))
            keywords = {k.arg: k.value for k in node.keywords}
            if (
                name == "load"
                and isinstance(func, ast.Attribute)
                and getattr(func.value, "id", "") == "torch"
            ):
                wo = keywords.get("weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    found.append("torch.load without weights_only=True")
            allow = keywords.get("allow_pickle")
            if isinstance(allow, ast.Constant) and allow.value is True:
                found.append("allow_pickle=True")
            if name in ("read_pickle", "to_pickle"):
                found.append(f"pandas {name}")
    return found


def test_engine_has_no_pickle_style_model_persistence() -> None:
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        for item in _calls_and_imports(path):
            if item.split(".")[0] in PICKLE_MODULES or " " in item or item.startswith("allow_"):
                offenders.append(f"{path.relative_to(ENGINE.parent)}: {item}")
    assert offenders == []


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 3)), columns=list(NAMES))


def _labels(frame: pd.DataFrame) -> np.ndarray:
    y = np.zeros(len(frame), dtype=np.int64)
    y[frame["a"] > 0.8] = 1
    y[frame["a"] < -0.8] = 2
    return y


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    train, cal = _frame(2000, 0), _frame(1000, 1)
    specialists: list = [
        GPSpecialist(
            "signal(gt(col(a), 0.3), lt(col(b), 0.0))", NAMES, RobustScaler.fit(train.to_numpy())
        )
    ]
    for kind in ("lightgbm", "xgboost"):
        _t, specs = train_gbm_specialists(
            kind,
            train,
            _labels(train),
            cal,
            _labels(cal),
            feature_names=NAMES,
            rounds=5,
            seed=0,  # type: ignore[arg-type]
        )
        specialists.append(specs[0])
    root = tmp_path_factory.mktemp("models")
    return save_bundle(
        root, "safe-agent", specialists, {"symbol": "BTC/USDT", "feature_set_id": "x"}
    )


def test_bundle_files_are_plain_text_never_pickles(bundle_dir: Path) -> None:
    for path in bundle_dir.iterdir():
        data = path.read_bytes()
        assert not data.startswith(b"\x80"), f"{path.name} looks like a pickle"
        data.decode("utf-8")  # text formats only
        if path.suffix == ".json":
            json.loads(data)


def test_load_bundle_never_unpickles(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("something tried to unpickle while loading a bundle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    bundle = load_bundle(bundle_dir)
    signals = bundle.signals(_frame(300, 2))
    assert signals.shape == (300,)


def test_a_gp_expression_cannot_smuggle_code(tmp_path: Path) -> None:
    evil = GPSpecialist(
        "__import__('os').system('touch pwned')", NAMES, RobustScaler((0.0,) * 3, (1.0,) * 3)
    )
    bundle = load_bundle(
        save_bundle(tmp_path, "evil", [evil], {"symbol": "X/Y", "feature_set_id": "x"})
    )
    with pytest.raises(DataError):
        bundle.signals(_frame(10, 3))
    assert not (Path.cwd() / "pwned").exists()
