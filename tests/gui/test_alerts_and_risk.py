"""Alerts (the button per alert, "Acknowledge all", the badge), the risk panel, Pause entries,
and switching the symbol: each clicked, then checked in the engine."""

from __future__ import annotations

import pytest

from engine.model.enums import OrderType, Side
from tests.gui.conftest import Cockpit


def _raise(c: Cockpit, key: str, severity: str, message: str) -> int:
    alert = c.engine.component("alerts").raise_alert(key, severity, "test", message)
    return int(alert.alert_id)


def _click_ack(c: Cockpit, alert_id: int) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view = c.window.panels.alerts
    rect = view.button_rect_of(alert_id)
    assert rect is not None, f"no Acknowledge button for alert {alert_id}"
    c.act(
        lambda: QTest.mouseClick(
            view.table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=rect.center(),  # type: ignore[attr-defined]
        )
    )


def test_acknowledge_button_and_acknowledge_all_clear_the_engines_alerts(cockpit: Cockpit) -> None:
    c = cockpit
    w = c.window
    w.show_alerts()
    before = len([a for a in c.engine.commands.alerts() if not a.acknowledged])
    first = _raise(c, "test:a", "critical", "the executor went quiet")
    second = _raise(c, "test:b", "warning", "a book went stale")
    third = _raise(c, "test:c", "info", "a forge task was rejected")
    model = w.panels.alerts_model
    c.wait(lambda: model.row(third) is not None, 5, "the alerts in the panel")
    assert model.unacknowledged == before + 3
    assert model.worst == "critical"
    assert f"{before + 3} alerts" in w.status.alerts.text()
    _click_ack(c, first)
    c.wait(lambda: c.engine.component("alerts").alerts[first].acknowledged, 5, "alert acknowledged")
    c.wait(lambda: model.unacknowledged == before + 2, 5, "the badge to count down")
    assert not c.engine.component("alerts").alerts[second].acknowledged
    row = model.row(first)
    assert row is not None
    assert row["acknowledged"] is True
    assert row["action"] == ""
    w.panels.alerts.open_only.setChecked(True)
    assert w.panels.alerts.proxy.rowCount() == before + 2
    c.click(w.panels.alerts.ack_all)
    c.wait(lambda: not any(not a.acknowledged for a in c.engine.commands.alerts()), 5, "all acked")
    c.wait(lambda: model.unacknowledged == 0, 5, "the badge to clear")
    assert w.status.alerts.text() == "alerts: 0"
    assert w.panels.alerts.proxy.rowCount() == 0
    assert not w.panels.alerts.ack_all.isEnabled()


def test_a_repeated_alert_counts_up_in_its_row(cockpit: Cockpit) -> None:
    c = cockpit
    first = _raise(c, "test:repeat", "warning", "stale book")
    again = _raise(c, "test:repeat", "warning", "stale book")
    assert again == first
    model = c.window.panels.alerts_model
    c.wait(lambda: (model.row(first) or {}).get("count") == 2, 5, "the count of the repeat")


def test_risk_panel_shows_nav_and_limit_usage_after_a_fill(cockpit: Cockpit) -> None:
    c = cockpit
    symbol = c.window.heatmap.symbol or ""
    c.wait(lambda: c.engine.risk.mid(symbol)[0] is not None, 10, "a mid")
    c.run(c.engine.commands.submit_order(symbol, Side.BUY, OrderType.MARKET, 0.05))
    limits = c.window.panels.risk.limits_model
    c.wait(lambda: (limits.row("gross exposure") or {}).get("used", 0) > 0, 5, "exposure")
    row = limits.row("gross exposure")
    assert row is not None
    assert row["limit"] == c.config.risk.max_total_exposure
    assert row["usage"] == pytest.approx(row["used"] / row["limit"])
    c.wait(lambda: limits.row("manual position") is not None, 5, "the strategy's limits")
    manual = limits.row("manual position")
    assert manual is not None
    assert manual["limit"] == c.config.risk.strategy.max_position_notional
    assert manual["used"] > 0
    assert c.window.panels.risk.figures["NAV"].text() != "—"
    assert c.window.panels.risk.events_model.rowCount() >= 0


def test_pause_entries_button_pauses_entries_in_the_engine(cockpit: Cockpit) -> None:
    c = cockpit
    c.act(lambda: c.window.kill_bar.pause.setChecked(True))
    c.wait(lambda: c.engine.risk.entries_paused, 5, "entries paused")
    c.wait(lambda: "ACTIVE · entries paused" in c.window.panels.risk.figures["State"].text(), 5)
    c.act(lambda: c.window.kill_bar.pause.setChecked(False))
    c.wait(lambda: not c.engine.risk.entries_paused, 5, "entries allowed again")


def test_switching_the_symbol_retargets_the_views_and_the_ticket(cockpit: Cockpit) -> None:
    c = cockpit
    w = c.window
    c.wait(lambda: len(w.chart.bars()) > 10, 10, "the chart opened with the venue's bars")
    c.act(lambda: w.symbol_box.setCurrentText("ETH/USDT"))
    assert w.heatmap.symbol == "ETH/USDT"
    assert w.ticket.symbol == "ETH/USDT"
    assert w.chart.symbol == "ETH/USDT"
    c.wait(lambda: len(w.chart.bars()) > 10, 10, "ETH's recent bars on the chart")
    assert all(b.symbol == "ETH/USDT" for b in w.chart.bars())
    assert 1_000 < w.chart.bars()[-1].close < 10_000  # ETH's price, not BTC's
    c.wait(lambda: c.engine.risk.mid("ETH/USDT")[0] is not None, 10, "an ETH mid")
    w.ticket.order_type.setCurrentText("MARKET")
    w.ticket.qty.setText("0.1")
    c.click(w.ticket.submit)
    portfolio = c.engine.gateway.portfolio
    c.wait(lambda: portfolio.position("manual", "ETH/USDT").qty > 0, 5, "an ETH position")
    assert portfolio.position("manual", "BTC/USDT").qty == 0
