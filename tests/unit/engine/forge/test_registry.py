"""Registry: safe artifacts, SHA-256 manifest, exact signal reproduction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import DataError
from engine.forge.ensemble import ensemble_signals
from engine.forge.labels import ENTRY, EXIT
from engine.forge.pipeline import signals_digest
from engine.forge.registry import MANIFEST, list_agents, load_bundle, save_bundle, sha256_file
from tests.unit.engine.forge.conftest import feature_frame

META = {"symbol": "BTC/USDT", "feature_set_id": "fs-test", "seed": 7}


def test_bundle_round_trip_reproduces_every_specialists_signals(
    tmp_path: Path, gp_specialist, gbm_specialists
) -> None:
    frame = feature_frame(1000, 9)
    for i, spec in enumerate([gp_specialist, *gbm_specialists.values()]):
        path = save_bundle(tmp_path, f"agent-{i}", [spec], META)
        bundle = load_bundle(path)
        want = spec.signals(frame)
        got = bundle.signals(frame)
        np.testing.assert_array_equal(got, want)
        assert len(set(got.tolist())) > 1
        assert bundle.feature_set_id == "fs-test"
    assert list_agents(tmp_path) == ["agent-0", "agent-1", "agent-2"]


def test_bundle_files_are_text_formats_with_a_manifest(tmp_path: Path, gbm_specialists) -> None:
    path = save_bundle(tmp_path, "a1", [gbm_specialists["lightgbm"]], META)
    assert sorted(p.name for p in path.iterdir()) == ["agent.json", "manifest.json", "model.txt"]
    manifest = json.loads((path / MANIFEST).read_text())
    assert set(manifest["files"]) == {"agent.json", "model.txt"}
    path = save_bundle(tmp_path, "a2", [gbm_specialists["xgboost"]], META)
    assert json.loads((path / "model.json").read_text())  # XGBoost JSON


def test_load_bundle_refuses_a_tampered_model_file(tmp_path: Path, gbm_specialists) -> None:
    path = save_bundle(tmp_path, "a1", [gbm_specialists["lightgbm"]], META)
    text = (path / "model.txt").read_text()
    (path / "model.txt").write_text(text.replace("learning_rate", "learning_rate ", 1))
    with pytest.raises(DataError, match=r"model\.txt fails its SHA-256 check"):
        load_bundle(path)


def test_load_bundle_refuses_a_tampered_gp_expression(tmp_path: Path, gp_specialist) -> None:
    path = save_bundle(tmp_path, "a1", [gp_specialist], META)
    meta = json.loads((path / "agent.json").read_text())
    meta["specialists"][0]["expression"] = "signal(true, false)"
    (path / "agent.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"agent\.json fails its SHA-256 check"):
        load_bundle(path)


def test_load_bundle_without_manifest_is_refused(tmp_path: Path, gp_specialist) -> None:
    path = save_bundle(tmp_path, "a1", [gp_specialist], META)
    (path / MANIFEST).unlink()
    with pytest.raises(DataError, match=r"no manifest\.json"):
        load_bundle(path)


def test_save_bundle_refuses_unsafe_agent_ids_and_duplicates(tmp_path: Path, gp_specialist) -> None:
    with pytest.raises(DataError, match="safe directory name"):
        save_bundle(tmp_path, "../escape", [gp_specialist], META)
    save_bundle(tmp_path, "same", [gp_specialist], META)
    with pytest.raises(FileExistsError):
        save_bundle(tmp_path, "same", [gp_specialist], META)


def test_bundle_signals_refuse_non_finite_features(tmp_path: Path, gp_specialist) -> None:
    bundle = load_bundle(save_bundle(tmp_path, "a1", [gp_specialist], META))
    frame = feature_frame(100, 1)
    frame.iloc[5, 1] = np.nan
    with pytest.raises(DataError, match="beta"):
        bundle.signals(frame)


def test_bundle_with_three_specialists_votes_by_the_ensemble_rule(
    tmp_path: Path, gp_specialist, gbm_specialists
) -> None:
    specs = [gp_specialist, gbm_specialists["lightgbm"], gbm_specialists["xgboost"]]
    bundle = load_bundle(save_bundle(tmp_path, "vote", specs, META))
    frame = feature_frame(800, 3)
    votes = np.stack([s.signals(frame) for s in specs])
    np.testing.assert_array_equal(bundle.votes(frame), votes)
    got = bundle.signals(frame)
    np.testing.assert_array_equal(got, ensemble_signals(votes))
    # Equal weights: ENTRY needs two of three votes, EXIT more than half of them.
    assert np.array_equal(got == EXIT, (votes == EXIT).sum(axis=0) >= 2)
    assert np.count_nonzero(got == ENTRY) > 0
    # A live agent's weights change the vote: all weight on the GP specialist is its signals.
    np.testing.assert_array_equal(bundle.signals(frame, [1.0, 0.0, 0.0]), votes[0])
    assert not np.array_equal(votes[0], got)


@pytest.mark.parametrize("count", [2, 3])
def test_bundle_of_several_specialists_reloads_with_the_same_ensemble_digest(
    tmp_path: Path, gp_specialist, gbm_specialists, count: int
) -> None:
    specs = [gp_specialist, gbm_specialists["lightgbm"], gbm_specialists["xgboost"]][:count]
    frame = feature_frame(1200, 11)
    digest = signals_digest(ensemble_signals(np.stack([s.signals(frame) for s in specs])))
    path = save_bundle(tmp_path, f"ens-{count}", specs, META | {"gauntlet_signals": digest})
    bundle = load_bundle(path)
    assert len(bundle.specialists) == count
    assert [s.kind for s in bundle.specialists] == [s.kind for s in specs]
    assert signals_digest(bundle.signals(frame)) == bundle.metadata["gauntlet_signals"]
    assert digest["entry"] > 0
    described = json.loads((path / "agent.json").read_text())["specialists"]
    for entry in described[1:]:
        names = [name for name, _share in entry["top_features"]]
        shares = [share for _name, share in entry["top_features"]]
        assert 0 < len(names) <= 10
        assert set(names) <= set(entry["feature_names"])
        assert shares == sorted(shares, reverse=True)
        assert names[0] == "alpha"  # the labels are made from alpha


def test_a_one_specialist_bundle_written_before_the_ensemble_still_loads(
    tmp_path: Path, gbm_specialists
) -> None:
    spec = gbm_specialists["xgboost"]
    path = save_bundle(tmp_path, "old", [spec], META)
    # Rewrite it as the forge wrote bundles before: no top_features, no ensemble fields.
    meta = json.loads((path / "agent.json").read_text())
    del meta["specialists"][0]["top_features"]
    (path / "agent.json").write_text(json.dumps(meta))
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["files"]["agent.json"] = sha256_file(path / "agent.json")
    (path / MANIFEST).write_text(json.dumps(manifest))
    bundle = load_bundle(path)
    frame = feature_frame(600, 13)
    np.testing.assert_array_equal(bundle.signals(frame), spec.signals(frame))
    assert "top_features" not in bundle.metadata["specialists"][0]
