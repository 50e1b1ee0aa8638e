"""``crucible bench features --quick`` runs end to end and ends with the agreed JSON keys."""

from __future__ import annotations

import json
import math

import pytest

from engine.cli import main
from engine.features.factory import FeatureFactory


def test_features_bench_quick_prints_batch_and_incremental_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "features", "--quick"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    print(f"\n{lines[-1]}")
    assert result["batch_500k_estimated"] is True
    for figure in ("batch_500k_s", "incremental_p99_ms"):  # well-formed; their size is the bench's
        assert isinstance(result[figure], float), result
        assert math.isfinite(result[figure]), result
        assert result[figure] >= 0, result
    assert result["features"] == len(FeatureFactory().feature_names)
    assert len(result["feature_set_id"]) == 16
    assert result["complete_rows"] > 0
