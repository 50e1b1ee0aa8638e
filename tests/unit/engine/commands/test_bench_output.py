"""The benchmark's last line stays valid JSON when a figure was not reached."""

from __future__ import annotations

import argparse
import json
import math
from types import SimpleNamespace
from typing import Any

import pytest

from engine.commands import bench


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def test_a_figure_not_reached_is_null_and_the_line_parses_as_strict_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = {"bench": "x", "fill_s": math.nan, "rate": math.inf, "count": 4.0}
    module = SimpleNamespace(run=lambda _args: dict(result))
    monkeypatch.setattr(bench.importlib, "import_module", lambda _name: module)
    monkeypatch.setattr(bench, "benchmarks", lambda: {"x": "fake"})
    assert bench._cmd_bench(argparse.Namespace(name="x", quick=True), None) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    parsed = json.loads(last, parse_constant=_refuse_constant)
    assert parsed == {"bench": "x", "fill_s": None, "rate": None, "count": 4.0}
