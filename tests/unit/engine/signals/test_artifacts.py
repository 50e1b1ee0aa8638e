"""Model artifacts: state dict + metadata hash; anything wrong is ModelUnavailable with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.signals.artifacts import ModelUnavailable, load_torch_artifact, save_torch_artifact


def test_artifact_round_trip_keeps_weights_and_metadata(tmp_path: Path) -> None:
    layer = torch.nn.Linear(3, 2)
    save_torch_artifact(tmp_path, layer.state_dict(), {"kind": "test", "n": 3})
    state, meta = load_torch_artifact(tmp_path)
    assert meta["kind"] == "test"
    assert len(meta["weights_sha256"]) == 64
    torch.testing.assert_close(state["weight"], layer.weight.detach())


def test_artifact_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no trained model"):
        load_torch_artifact(tmp_path / "nothing")


def test_artifact_with_tampered_weights_is_unavailable(tmp_path: Path) -> None:
    save_torch_artifact(tmp_path, torch.nn.Linear(2, 2).state_dict(), {"kind": "test"})
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "model.pt")
    with pytest.raises(ModelUnavailable, match="do not match"):
        load_torch_artifact(tmp_path)


def test_artifact_with_corrupt_metadata_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="unreadable"):
        load_torch_artifact(tmp_path)
