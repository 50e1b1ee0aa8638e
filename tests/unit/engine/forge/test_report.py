"""The CLI's rendering of a forge outcome names the members and the ensembles tried."""

from __future__ import annotations

from engine.forge.report import format_outcome
from engine.forge.task import ForgeOutcome


def _entry(name: str, kind: str, sharpe: float, member: bool) -> dict[str, object]:
    return {
        "name": name,
        "kind": kind,
        "sharpe": sharpe,
        "trades": 40,
        "eligible": True,
        "member": member,
    }


def test_format_outcome_marks_members_and_the_ensembles_the_selection_kept() -> None:
    report = {
        "symbol": "ETH/USDT",
        "bake_off": [
            _entry("gp#0", "gp", 3.0, False),
            _entry("xgboost q0.97/0.80", "xgboost", 9.0, True),
            _entry("lightgbm q0.97/0.80", "lightgbm", 8.0, True),
        ],
        "selection": [
            {
                "members": ["xgboost q0.97/0.80", "gp#0"],
                "sharpe": 2.5,
                "trades": 31,
                "accepted": False,
            },
            {
                "members": ["xgboost q0.97/0.80", "lightgbm q0.97/0.80"],
                "sharpe": 11.0,
                "trades": 35,
                "accepted": True,
            },
        ],
    }
    text = format_outcome(ForgeOutcome("rejected", "x", report=report)).splitlines()
    assert " *xgboost q0.97/0.80" in "\n".join(text)
    assert "  gp#0" in "\n".join(text)
    tried = text[text.index("Forward selection on validation (ensembles tried; + = kept):") + 1 :]
    assert tried[0].startswith("  xgboost q0.97/0.80 + gp#0")
    assert tried[1].startswith(" +xgboost q0.97/0.80 + lightgbm q0.97/0.80")
    assert tried[1].split()[-2:] == ["11.000", "35"]
