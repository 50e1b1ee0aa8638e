"""The Arena panel on live forged agents: the table, the detail view, and the agent commands
(Reap, Pause / Resume, the context menu, Evaluate now), each clicked and checked in the engine."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint

from engine.model.enums import AgentState as Lifecycle
from tests.gui.conftest import Cockpit, Forged


def _rows(c: Cockpit) -> dict[str, dict[str, Any]]:
    return {r["agent_id"]: r for r in c.window.panels.agents_model.rows()}


def _select(c: Cockpit, agent_id: str) -> None:
    arena = c.window.panels.arena
    c.wait(lambda: arena.select_agent(agent_id), 5, f"{agent_id} in the table")
    assert arena.selected_agent() == agent_id


def test_arena_lists_the_live_agents_with_their_figures(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    c.wait(lambda: set(_rows(c)) == set(forged.ids), 5, "both agents in the table")
    for agent_id, row in _rows(c).items():
        agent = c.engine.arena.agents[agent_id]
        assert row["symbol"] == agent.symbol
        assert row["kinds"] == "+".join(agent.kinds)
        assert row["state"] in ("flat", "long", "short")
        assert len(row["weights"]) == len(agent.kinds)
    arena = c.window.panels.arena
    arena.symbol_filter.setCurrentText("ETH/USDT")
    assert arena.proxy.rowCount() == 1
    assert arena.proxy.key_at(0) == forged.ids[1]
    arena.symbol_filter.setCurrentText("all")
    arena.state_filter.setCurrentText("paused")
    assert arena.proxy.rowCount() == 0
    arena.state_filter.setCurrentText("all")
    assert arena.proxy.rowCount() == 2


def test_selecting_an_agent_shows_its_specialists_and_decisions(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    agent_id = forged.ids[0]
    _select(c, agent_id)
    detail = c.window.panels.detail
    c.wait(lambda: detail.agent_id == agent_id, 10, "the agent's detail")
    top = detail.specialists.topLevelItem(0)
    assert top is not None
    spec = c.engine.arena.agents[agent_id].bundle.metadata["specialists"][0]
    assert top.text(0).endswith(spec["kind"])
    if spec.get("expression"):  # a GP tree, shown as nested nodes
        assert top.childCount() >= 1
        assert top.child(0).childCount() >= 1
    # The agent decides every bar (fast-forward sim): decisions reach the view live.
    c.wait(lambda: detail.decisions_model.rowCount() > 0, 60, "decisions in the detail view")
    row = detail.decisions_model.row(detail.decisions_model.key_at(0))
    assert row is not None
    assert row["action"] in ("enter", "exit", "hold", "wait", "skip")


def test_pause_and_resume_buttons_pause_and_resume_the_agent(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    agent_id = forged.ids[1]
    arena = c.window.panels.arena
    _select(c, agent_id)
    c.click(arena.pause)
    c.wait(lambda: c.engine.arena.agents[agent_id].lifecycle is Lifecycle.PAUSED, 5, "paused")
    c.wait(lambda: _rows(c)[agent_id]["state"] == "paused", 5, "the row to say paused")
    assert "pause" in c.window.status.currentMessage()
    assert arena.resume.isEnabled()
    c.click(arena.resume)
    c.wait(lambda: c.engine.arena.agents[agent_id].lifecycle is Lifecycle.ACTIVE, 5, "active")
    c.wait(lambda: _rows(c)[agent_id]["state"] != "paused", 5, "the row to leave paused")


def test_context_menu_offers_the_row_actions_and_they_act(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    agent_id = forged.ids[0]
    arena = c.window.panels.arena
    _select(c, agent_id)
    rect = arena.table.visualRect(arena.proxy.index(arena.table.currentIndex().row(), 0))
    arena.table.customContextMenuRequested.emit(QPoint(rect.center()))
    menu = arena.context_menu
    names = [a.text() for a in menu.actions()]
    assert names == ["Reap…", "Forge replacement", "Pause", "Resume"]
    pause = menu.actions()[2]
    assert pause.isEnabled()
    c.act(pause.trigger)
    menu.close()
    c.wait(lambda: c.engine.arena.agents[agent_id].lifecycle is Lifecycle.PAUSED, 5, "paused")


def test_reap_button_flattens_archives_and_marks_the_row_reaped(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    agent_id = forged.ids[0]
    models = c.config.paths.resolve(c.config.paths.models_dir)
    _select(c, agent_id)
    c.click(c.window.panels.arena.reap)  # confirmed: yes
    c.wait(lambda: agent_id not in c.engine.arena.agents, 20, "the agent to leave the arena")
    c.wait(lambda: (models / "archive" / agent_id).is_dir(), 5, "the bundle archived")
    assert not (models / agent_id).exists()
    snap = c.run(c.engine.commands.snapshot())
    assert all(p.qty == 0 for p in snap.positions if p.strategy_id == agent_id)
    c.wait(lambda: _rows(c)[agent_id]["state"] == "reaped", 5, "the row marked reaped")
    assert not c.window.panels.arena.reap.isEnabled()  # a reaped agent cannot be reaped again
    # The reap is an alert that waits for an acknowledgement, and a line in the Watchtower log.
    alerts = c.window.panels.alerts_model
    c.wait(lambda: any(agent_id in r["message"] for r in alerts.rows()), 5, "the reap alert")
    wt = c.window.panels.watchtower_model
    assert any(r["agent_id"] == agent_id and r["event"] == "reaped" for r in wt.rows())


def test_evaluate_now_scores_the_agents_into_the_table_and_the_log(
    population: Cockpit, forged: Forged
) -> None:
    c = population
    c.click(c.window.panels.arena.evaluate)
    wt = c.window.panels.watchtower_model
    c.wait(lambda: {r["agent_id"] for r in wt.rows()} >= set(forged.ids), 20, "evaluations")
    scored = c.engine.component("watchtower").last_scores
    assert set(scored) == set(forged.ids)
    for agent_id in forged.ids:
        c.wait(lambda a=agent_id: _rows(c)[a]["verdict"] != "", 5, "the verdict in the table")
        assert _rows(c)[agent_id]["verdict"] == scored[agent_id].verdict
