"""Sanitization: inf -> NaN, forward fill only, and a checkpoint that names bad columns."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.core.errors import DataError
from engine.features.sanitize import LastFinite, check_finite, drop_warmup, sanitize_frame


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [np.nan, 1.0, np.inf, np.nan, 4.0], "b": [np.nan, np.nan, 2.0, -np.inf, 5.0]},
        index=pd.date_range("2024-01-01", periods=5, freq="1min", tz="UTC"),
    )


def test_sanitize_turns_inf_into_the_last_finite_value_and_never_fills_backwards() -> None:
    out = sanitize_frame(_frame())
    assert out["a"].tolist()[1:] == [1.0, 1.0, 1.0, 4.0]
    assert math.isnan(out["a"].iloc[0])
    assert out["b"].tolist()[2:] == [2.0, 2.0, 5.0]
    assert out["b"].iloc[:2].isna().all()


def test_streaming_fill_matches_the_frame_fill() -> None:
    frame = _frame()
    fill = LastFinite(2)
    rows = [fill.apply(list(row)) for row in frame.to_numpy()]
    np.testing.assert_array_equal(np.array(rows), sanitize_frame(frame).to_numpy())


def test_check_finite_names_every_offending_column_with_counts() -> None:
    with pytest.raises(
        DataError, match=r"forge X: non-finite values in 2 column\(s\): a \(3\), b \(3\)"
    ):
        check_finite(_frame(), "forge X")


def test_check_finite_passes_a_clean_frame_and_rejects_text_columns() -> None:
    check_finite(pd.DataFrame({"a": [1.0, 2.0], "flag": [True, False]}), "ok")
    with pytest.raises(DataError, match=r"non-numeric columns.*'regime'"):
        check_finite(pd.DataFrame({"a": [1.0], "regime": ["calm"]}), "x")


def test_drop_warmup_removes_only_the_leading_incomplete_rows() -> None:
    out = drop_warmup(sanitize_frame(_frame()))
    assert len(out) == 3
    check_finite(out, "after warm-up")
