"""The Forge panel: Forge for a chosen symbol, Cancel task, Forge replacement (clicked, then
checked in the engine), live progress and fitness, and finished tasks' gauntlet reports."""

from __future__ import annotations

from typing import Any

from cockpit.views.gauntlet_report import NO_EQUITY, GauntletReportView
from tests.gui.conftest import Cockpit, Forged

STUBS = "tests.unit.engine.forge.stub_workers"


def _use_stub_worker(c: Cockpit, name: str) -> None:
    """Forge tasks commissioned from now on run a stub worker (no real forge in these tests)."""
    c.engine.component("singularity")._entrypoint = f"{STUBS}:{name}"


def _task_for(c: Cockpit, symbol: str) -> str | None:
    return next(
        (s.task_id for s in c.engine.commands.slots() if s.symbol == symbol and s.task_id), None
    )


def test_forge_button_queues_a_task_that_shows_progress_and_cancel_kills_it(
    cockpit: Cockpit,
) -> None:
    c = cockpit
    _use_stub_worker(c, "hang")  # reports generation 1 of 10, then hangs until killed
    panel = c.window.panels.forge
    panel.symbol.setCurrentText("ETH/USDT")
    c.click(panel.forge)
    c.wait(lambda: _task_for(c, "ETH/USDT") is not None, 5, "a forge task for ETH/USDT")
    task_id = _task_for(c, "ETH/USDT")
    assert task_id is not None
    assert task_id in panel.status.text()
    model = panel.tasks_model
    c.wait(lambda: (model.row(task_id) or {}).get("stage") == "EVOLVING", 60, "the worker running")
    row = model.row(task_id)
    assert row is not None
    assert (row["generation"], row["generations"]) == (1, 10)
    assert row["progress"] > 0
    assert panel.fitness.generations == 1  # the running task's fitness is plotted live
    assert panel.select_task(task_id)
    assert panel.cancel.isEnabled()
    c.click(panel.cancel)
    forge = c.engine.component("forge")
    c.wait(lambda: task_id in forge.outcomes, 15, "the task to end")
    assert forge.outcomes[task_id].status == "cancelled"
    c.wait(lambda: (model.row(task_id) or {}).get("stage") == "CANCELLED", 5, "the row cancelled")
    assert not panel.cancel.isEnabled()
    assert "cancel forge task" in c.window.status.currentMessage()


def test_a_finished_task_shows_its_fitness_verdict_and_report(cockpit: Cockpit) -> None:
    c = cockpit
    _use_stub_worker(c, "evolve_briefly")  # three generations, then rejected: "no edge"
    panel = c.window.panels.forge
    panel.symbol.setCurrentText("SOL/USDT")
    c.click(panel.forge)
    c.wait(lambda: _task_for(c, "SOL/USDT") is not None, 5, "a forge task for SOL/USDT")
    task_id = _task_for(c, "SOL/USDT")
    assert task_id is not None
    model = panel.tasks_model
    c.wait(lambda: (model.row(task_id) or {}).get("stage") == "REJECTED", 60, "the verdict")
    assert [g for g, _b, _m in model.fitness[task_id]] == [1, 2, 3]
    assert panel.select_task(task_id)
    c.wait(lambda: panel.report.task_id == task_id, 5, "the report (from the journal)")
    assert "REJECTED" in panel.report.verdict.text()
    assert "no edge for SOL/USDT" in panel.report.verdict.text()
    assert "before the gauntlet" in panel.report.text.toPlainText()
    assert panel.fitness.generations == 3
    alerts = c.window.panels.alerts_model
    c.wait(lambda: any(task_id in r["message"] for r in alerts.rows()), 5, "the rejection alert")


def test_forge_replacement_commissions_a_task_that_replaces_the_agent(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    _use_stub_worker(c, "hang")
    agent_id = forged.ids[1]
    arena = c.window.panels.arena
    c.wait(lambda: arena.select_agent(agent_id), 5, "the agent in the table")
    c.click(arena.forge)
    c.wait(lambda: _task_for(c, "ETH/USDT") is not None, 5, "a forge task for ETH/USDT")
    task_id = _task_for(c, "ETH/USDT")
    running: Any = c.engine.component("forge")._by_task[task_id]
    assert running.job.task.replaces == agent_id
    assert agent_id in c.engine.arena.agents  # it stays until its replacement joins
    assert c.engine.commands.cancel_forge_task(task_id)


def test_gauntlet_report_shows_every_gate_of_a_real_forge_report(
    qapp: object, forged: Forged
) -> None:
    from engine.forge.registry import load_bundle

    meta = load_bundle(forged.models / forged.ids[0]).metadata
    gates = meta["gauntlet"]["gates"]
    view = GauntletReportView()
    view.show_run(
        {
            "task_id": meta["task_id"],
            "symbol": meta["symbol"],
            "status": "REGISTERED",
            "agent_id": forged.ids[0],
            "report": {"gauntlet": meta["gauntlet"], "trade_stats": meta["trade_stats"],
                       "reason": "passed every gate"},
        }
    )  # fmt: skip
    model = view.gates_model
    assert model.rowCount() == len(gates) >= 5
    for r, gate in enumerate(gates):
        row = model.row(model.key_at(r))
        assert row is not None
        assert row["name"] == gate["name"]
        assert row["value"] == gate["value"]
        assert model.data(model.index(r, 3)) == ("pass" if gate["passed"] else "FAIL")
    text = view.text.toPlainText()
    assert "deflated_sharpe" in text or "sharpe" in text
    assert NO_EQUITY in text  # a report from before the forge kept the curve
    assert view.equity.isHidden()
    assert "REGISTERED" in view.verdict.text()


def test_gauntlet_report_draws_the_holdout_equity_the_forge_journals(qapp: object) -> None:
    import numpy as np
    import pandas as pd

    from engine.forge.pipeline import holdout_equity

    index = pd.date_range("2026-11-01", periods=1_000, freq="1min", tz="UTC")
    equity = 1.0 + np.cumsum(np.random.default_rng(3).normal(0.0, 1e-3, len(index)))
    series = holdout_equity(equity, index)
    view = GauntletReportView()
    view.show_run(
        {"task_id": "t1", "symbol": "ETH/USDT", "status": "REJECTED", "agent_id": None,
         "report": {"gauntlet": {"gates": [], "reason": "too few trades"},
                    "holdout_equity": series}}
    )  # fmt: skip
    assert not view.equity.isHidden()
    assert view.equity.points == len(series["ts"]) > 300
    xs, ys = view.equity.curve.getData()
    assert xs[0] == index[0].timestamp()
    assert xs[-1] == index[-1].timestamp()
    assert ys[-1] == equity[-1]
    assert NO_EQUITY not in view.text.toPlainText()
    view.show_run(
        {"task_id": "t2", "symbol": "ETH/USDT", "status": "FAILED", "agent_id": None,
         "report": {"holdout_equity": {"ts": ["not a time"], "equity": [1.0]}}}
    )  # fmt: skip
    assert view.equity.isHidden()  # an unreadable series is not drawn


def _report_of_seven_gates(height: int) -> GauntletReportView:
    """A report view ``height`` pixels high, shown, with 7 gates and a holdout curve."""
    from PySide6.QtWidgets import QApplication

    gates = [{"name": f"gate_{i}", "value": 1.0, "threshold": 0.5, "passed": i != 2,
              "margin": 0.5} for i in range(7)]  # fmt: skip
    series = {"ts": ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"], "equity": [1.0, 1.01]}
    view = GauntletReportView()
    view.resize(900, height)
    view.show()
    QApplication.processEvents()
    view.show_run(
        {"task_id": "t1", "symbol": "BTC/USDT", "status": "REJECTED", "agent_id": None,
         "report": {"gauntlet": {"gates": gates, "reason": "x"}, "holdout_equity": series}}
    )  # fmt: skip
    QApplication.processEvents()
    return view


def test_holdout_equity_keeps_a_readable_height_in_a_short_panel(qapp: object) -> None:
    import cockpit.views.gauntlet_report as report_view

    view = _report_of_seven_gates(380)  # the forge dock in a 1080-pixel-high window
    assert not view.equity.isHidden()
    assert view.equity.height() >= report_view._MIN_CURVE_PX
    view.close()


def test_every_gate_is_visible_above_the_curve_in_a_panel_of_moderate_height(
    qapp: object,
) -> None:
    import cockpit.views.gauntlet_report as report_view

    view = _report_of_seven_gates(480)
    table = view.gates
    last = view.gates_model.rowCount() - 1
    assert last == 6
    assert table.rowViewportPosition(last) + table.rowHeight(last) <= table.viewport().height()
    assert view.equity.height() >= report_view._MIN_CURVE_PX
    view.close()
