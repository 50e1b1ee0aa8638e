"""The cockpit window on the live simulated market (offscreen, real engine, real core)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.core.errors import RiskRejected
from engine.model.enums import LinkStatus, OrderType, Side, TradingState
from tests.gui.conftest import Cockpit, open_cockpit
from tests.kit.procs import children_of, wait_gone


def _tick(c: Cockpit) -> float:
    return c.engine.commands.instrument(c.window.heatmap.symbol or "").tick_size  # type: ignore[union-attr]


def test_window_opens_on_the_sim_venue_in_paper_mode(cockpit: Cockpit) -> None:
    w = cockpit.window
    assert cockpit.engine.link.venue == "sim"
    assert cockpit.engine.link.status is LinkStatus.CONNECTED
    assert "PAPER" in w.windowTitle()
    assert "PAPER" in w.status.mode.text()
    assert [w.symbol_box.itemText(i) for i in range(w.symbol_box.count())] == list(
        cockpit.config.universe.symbols
    )
    assert all(
        d.isVisible() for d in w.docks.values() if not d.isFloating() and d.widget().isVisible()
    )
    assert w.kill_bar.kill.isVisible()
    # A lone "&" in a dock title is a mnemonic in its tab: "Orders & fills" showed as "Orders ...".
    titles = [d.windowTitle() for d in w.docks.values()]
    assert not [t for t in titles if "&" in t.replace("&&", "")], titles


def test_heatmap_and_chart_receive_data_within_5_seconds(cockpit: Cockpit) -> None:
    w = cockpit.window
    waited = cockpit.wait(
        lambda: w.heatmap.frames_drawn > 0 and w.chart.bars_drawn > 0, 5.0, "heatmap and chart data"
    )
    print(f"first heatmap frame and candle after {waited:.2f} s")
    cockpit.wait(lambda: w.heatmap.ring.count >= 10, 5.0)
    image = w.heatmap.ring.view()
    assert (image > 0).sum() > 50  # resting liquidity on many price levels
    assert w.chart.bars()[-1].volume > 0
    cockpit.wait(lambda: "live" in w.status.book.text(), 2.0, "the book shown as live")


def test_manual_limit_order_shows_in_the_blotter_and_cancels(cockpit: Cockpit) -> None:
    w = cockpit.window
    cockpit.wait(lambda: cockpit.engine.risk.mid(w.heatmap.symbol or "")[0] is not None, 10.0)
    mid, _ = cockpit.engine.risk.mid(w.heatmap.symbol or "")
    tick = _tick(cockpit)
    price = round(round(mid * 0.995 / tick) * tick, 8)  # type: ignore[operator]
    w.ticket.order_type.setCurrentText("LIMIT")
    w.ticket.qty.setText("0.01")
    w.ticket.price.setText(f"{price}")
    QTest.mouseClick(w.ticket.submit, Qt.MouseButton.LeftButton)
    cockpit.wait(lambda: w.orders_model.rowCount() == 1, 3.0, "the order in the blotter")
    cid = w.orders_model.key_at(0)
    assert w.orders_model.row(cid)["price"] == pytest.approx(price)  # type: ignore[index]
    button = w.blotter.cancel_button(cid)
    assert button is not None
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    cockpit.wait(lambda: w.orders_model.rowCount() == 0, 3.0, "the order to leave the blotter")


def test_ticket_shows_inline_error_and_sends_nothing_for_a_bad_quantity(cockpit: Cockpit) -> None:
    w = cockpit.window
    w.ticket.order_type.setCurrentText("MARKET")
    w.ticket.qty.setText("-3")
    QTest.mouseClick(w.ticket.submit, Qt.MouseButton.LeftButton)
    assert "qty" in w.ticket.error.text()
    w.ticket.qty.setText("abc")
    QTest.mouseClick(w.ticket.submit, Qt.MouseButton.LeftButton)
    assert "not a number" in w.ticket.error.text()
    assert w.orders_model.rowCount() == 0


def _build_exposure(c: Cockpit) -> None:
    symbol = c.window.heatmap.symbol or ""
    c.wait(lambda: c.engine.risk.mid(symbol)[0] is not None, 10.0)
    mid, _ = c.engine.risk.mid(symbol)
    tick = _tick(c)
    cmds = c.engine.commands
    c.run(cmds.submit_order(symbol, Side.BUY, OrderType.MARKET, 0.02))
    for i in range(3):
        c.run(
            cmds.submit_order(
                symbol,
                Side.SELL,
                OrderType.LIMIT,
                0.01,
                round(round(mid * (1.004 + 0.001 * i) / tick) * tick, 8),
            )
        )  # type: ignore[operator]
    snap = c.run(cmds.snapshot())
    assert len(snap.open_orders) == 3
    assert not snap.is_flat


def _assert_halted_and_flat(c: Cockpit) -> None:
    snap = c.run(c.engine.commands.snapshot())
    assert snap.open_orders == ()
    assert snap.is_flat
    assert c.window.kill_bar.banner.isVisible()
    assert "HALTED" in c.window.kill_bar.banner.text()
    symbol = c.window.heatmap.symbol or ""
    with pytest.raises(RiskRejected):
        c.run(c.engine.commands.submit_order(symbol, Side.BUY, OrderType.MARKET, 0.01))


def test_kill_switch_button_halts_cancels_and_flattens_within_1s(cockpit: Cockpit) -> None:
    _build_exposure(cockpit)
    QTest.mouseClick(cockpit.window.kill_bar.kill, Qt.MouseButton.LeftButton)
    took = cockpit.wait(
        lambda: cockpit.window.last_kill_snapshot is not None, 1.0, "kill switch confirmation"
    )
    print(f"kill switch (button) confirmed by the core in {took * 1000:.0f} ms")
    _assert_halted_and_flat(cockpit)
    cockpit.window.kill_bar.resume.click()  # confirmation answered yes by the fixture
    cockpit.wait(lambda: cockpit.engine.risk.state is TradingState.ACTIVE, 3.0)
    cockpit.wait(lambda: not cockpit.window.kill_bar.banner.isVisible(), 2.0)


def test_kill_switch_shortcut_does_the_same(cockpit: Cockpit) -> None:
    _build_exposure(cockpit)
    QTest.keyClick(
        cockpit.window,
        Qt.Key.Key_K,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    took = cockpit.wait(
        lambda: cockpit.window.last_kill_snapshot is not None, 1.0, "kill switch via shortcut"
    )
    print(f"kill switch (Ctrl+Shift+K) confirmed by the core in {took * 1000:.0f} ms")
    _assert_halted_and_flat(cockpit)


def test_halted_state_survives_a_restart_of_the_app(
    qapp: QApplication, qloop: qasync.QEventLoop, tmp_path: Path, cerebellum_binary: Path
) -> None:
    first = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop)
    QTest.mouseClick(first.window.kill_bar.kill, Qt.MouseButton.LeftButton)
    first.wait(lambda: first.window.last_kill_snapshot is not None, 2.0)
    first.close()
    second = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop)
    try:
        second.wait(
            lambda: second.window.kill_bar.banner.isVisible(), 2.0, "HALTED banner after restart"
        )
        assert second.engine.risk.state is TradingState.HALTED
        # The new core was told as well (the risk manager re-applies the halt).
        second.wait(
            lambda: second.engine.link.trading_state.global_state is TradingState.HALTED, 5.0
        )
    finally:
        second.close()


def test_layout_is_persisted_between_runs(
    qapp: QApplication, qloop: qasync.QEventLoop, tmp_path: Path, cerebellum_binary: Path
) -> None:
    first = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop)
    first.window.docks["log"].toggleViewAction().trigger()
    assert not first.window.docks["log"].isVisible()
    first.close()
    second = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop)
    try:
        assert not second.window.docks["log"].isVisible()
        second.window.reset_layout()
        assert second.window.docks["log"].toggleViewAction().isChecked()
    finally:
        second.close()


def test_closing_the_window_leaves_no_child_process(cockpit: Cockpit) -> None:
    core_pid = cockpit.engine.link.process.pid if cockpit.engine.link.process else None
    assert core_pid is not None
    assert core_pid in children_of(os.getpid())
    cockpit.close()
    assert wait_gone({core_pid}, 3.0) == set()
    assert cockpit.engine.link.process is not None
    assert not cockpit.engine.link.process.running
