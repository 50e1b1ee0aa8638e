"""StatusBar: mode, executor health, market-data rate, engine state."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar

from cockpit import theme
from engine.model.enums import LinkStatus
from engine.model.events import BookStatus, EngineStateChanged, LinkState


def _pill(text: str, colour: str) -> str:
    return f"<span style='color:{colour}; font-weight:bold'>{text}</span>"


class StatusBar(QStatusBar):
    sigAlertsClicked = Signal()

    def __init__(self, paper: bool) -> None:
        super().__init__()
        self.alerts = QPushButton("alerts: 0")
        self.alerts.setFlat(True)
        self.alerts.setToolTip("Open alerts (click to show them)")
        self.alerts.clicked.connect(self.sigAlertsClicked.emit)
        self.mode = QLabel(
            _pill("PAPER (sim)" if paper else "LIVE", theme.ACCENT if paper else theme.HALT)
        )
        self.executor = QLabel(_pill("executor: starting", theme.TEXT_DIM))
        self.feed = QLabel("md: 0 msg/s")
        self.engine = QLabel("engine: —")
        self.book = QLabel("book: —")
        self._book_state: dict[str, tuple[bool, str]] = {}
        self._symbol = ""
        for w in (self.alerts, self.mode, self.executor, self.book, self.feed, self.engine):
            self.addPermanentWidget(w)
        self.set_alerts(0, "")

    def set_alerts(self, count: int, worst: str) -> None:
        """The badge: how many alerts wait for an acknowledgement, coloured by the worst."""
        colour = theme.SEVERITY.get(worst, theme.TEXT_DIM) if count else theme.TEXT_DIM
        self.alerts.setText(f"⚠ {count} alert{'s' if count != 1 else ''}" if count else "alerts: 0")
        self.alerts.setStyleSheet(
            f"QPushButton {{ color: {'white' if count else colour}; font-weight: bold;"
            f" background: {colour if count else 'transparent'}; border-radius: 3px;"
            " padding: 1px 8px; }"
        )

    def on_link_state(self, s: LinkState) -> None:
        colour = {
            LinkStatus.CONNECTED: theme.BID,
            LinkStatus.CONNECTING: theme.WARN,
            LinkStatus.RECONCILING: theme.WARN,
        }.get(s.status, theme.HALT)
        parts = [f"executor: {s.status.value}"]
        if s.heartbeat_age_ms is not None:
            parts.append(f"hb {s.heartbeat_age_ms:.0f} ms")
        if s.rtt_us is not None:
            parts.append(f"rtt {s.rtt_us:.0f} µs")
        if s.venue:
            parts.append(s.venue)
        self.executor.setText(_pill(" · ".join(parts), colour))

    def on_feed_rate(self, rate: float) -> None:
        self.feed.setText(f"md: {rate:,.0f} msg/s")

    def on_engine_state(self, e: EngineStateChanged) -> None:
        self.engine.setText(f"engine: {e.state.value}")

    def on_book_status(self, s: BookStatus) -> None:
        self._book_state[s.symbol] = (s.stale, s.reason)
        self._show_book()

    def set_symbol(self, symbol: str) -> None:
        self._symbol = symbol
        self._show_book()

    def _show_book(self) -> None:
        stale, reason = self._book_state.get(self._symbol, (True, "no book yet"))
        if stale:
            self.book.setText(_pill(f"book STALE: {reason}", theme.WARN))
        else:
            self.book.setText(_pill("book live", theme.BID))
