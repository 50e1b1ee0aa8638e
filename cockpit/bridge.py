"""EngineBridge: the only cockpit object that subscribes to the engine bus.

Low-rate events (orders, fills, risk, link, lifecycle, agent decisions and
scores, alerts, forge progress, the bar-driven signals) are re-emitted as Qt
signals at once and never dropped. High-rate streams are coalesced: the books
and trades since the last frame, and the latest MCE reading per symbol (it
updates on every book), are emitted once per frame tick, so the GUI repaints
at most at the frame rate however fast the market moves. Under qasync bus callbacks already run on the
GUI thread, so emitting directly is safe.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.model.events import SignalUpdate
from engine.model.market import BookSnapshot, Trade

# Signals published per book snapshot (coalesced to one per symbol per frame).
HIGH_RATE_SIGNALS = frozenset({"mce"})


class EngineBridge(QObject):
    """Engine events in, Qt signals out (throttled for market data)."""

    sigOrderUpdated = Signal(object)  # OrderUpdate
    sigFillReceived = Signal(object)  # Fill
    sigRiskEvent = Signal(object)  # RiskEvent
    sigTradingStateChanged = Signal(object)  # TradingStateChanged
    sigPortfolioChanged = Signal(object)  # PortfolioState
    sigLinkStateChanged = Signal(object)  # LinkState
    sigEngineStateChanged = Signal(object)  # EngineStateChanged
    sigTaskFailed = Signal(object)  # TaskFailed
    sigAgentLifecycle = Signal(object)  # AgentLifecycle
    sigForgeProgress = Signal(object)  # ForgeProgress
    sigSignalUpdated = Signal(object)  # SignalUpdate of a bar-driven signal (radar, influence)
    sigSignalsFrame = Signal(object)  # dict[(name, symbol), SignalUpdate]: high-rate signals
    sigAgentDecision = Signal(object)  # AgentDecision
    sigAgentScored = Signal(object)  # AgentScored
    sigAgentFault = Signal(object)  # AgentFault
    sigAlert = Signal(object)  # Alert (new, repeated or acknowledged)
    sigRadarDiagram = Signal(object)  # RadarDiagram
    sigRadarHistory = Signal(object)  # RadarHistory
    sigBookStatusChanged = Signal(object)  # BookStatus
    sigBookFrame = Signal(object)  # dict[symbol, list[BookSnapshot]] since the last frame
    sigTradesFrame = Signal(object)  # dict[symbol, list[Trade]] since the last frame
    sigFeedRate = Signal(float)  # market-data messages per second

    def __init__(self, bus: EventBus, frame_ms: int = 33, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._books: dict[str, list[BookSnapshot]] = {}
        self._trades: dict[str, list[Trade]] = {}
        self._signals: dict[tuple[str, str | None], SignalUpdate] = {}
        self._md_times: deque[float] = deque(maxlen=4096)
        self._subs: list[Subscription] = []
        self.frames_emitted = 0
        low_rate: list[tuple[str, Any]] = [
            (topics.all_of("exec.order"), self.sigOrderUpdated.emit),
            (topics.all_of("exec.fill"), self.sigFillReceived.emit),
            (topics.RISK_EVENT, self.sigRiskEvent.emit),
            (topics.RISK_STATE, self.sigTradingStateChanged.emit),
            (topics.RISK_PORTFOLIO, self.sigPortfolioChanged.emit),
            (topics.LINK_STATE, self.sigLinkStateChanged.emit),
            (topics.ENGINE_STATE, self.sigEngineStateChanged.emit),
            (topics.ENGINE_TASK_FAILED, self.sigTaskFailed.emit),
            (topics.all_of("agent.lifecycle"), self.sigAgentLifecycle.emit),
            (topics.all_of("forge.progress"), self.sigForgeProgress.emit),
            (topics.all_of("md.status"), self.sigBookStatusChanged.emit),
            (topics.all_of("agent.decision"), self.sigAgentDecision.emit),
            (topics.all_of("agent.score"), self.sigAgentScored.emit),
            (topics.all_of("agent.fault"), self.sigAgentFault.emit),
            (topics.ALERT, self.sigAlert.emit),
            (topics.RADAR_DIAGRAM, self.sigRadarDiagram.emit),
            (topics.RADAR_HISTORY, self.sigRadarHistory.emit),
        ]
        for pattern, emit in low_rate:
            self._subs.append(
                bus.subscribe(pattern, self._forward(emit), name=f"bridge:{pattern}", direct=True)
            )
        self._subs.append(
            bus.subscribe(topics.all_of("md.book"), self._on_book, name="bridge:books", direct=True)
        )
        self._subs.append(
            bus.subscribe(
                topics.all_of("signal"), self._on_signal, name="bridge:signals", direct=True
            )
        )
        self._subs.append(
            bus.subscribe(
                topics.all_of("md.trade"), self._on_trade, name="bridge:trades", direct=True
            )
        )
        self._timer = QTimer(self)
        self._timer.setInterval(frame_ms)
        self._timer.timeout.connect(self._flush)
        self._timer.start()
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(1000)
        self._rate_timer.timeout.connect(self._emit_rate)
        self._rate_timer.start()

    @staticmethod
    def _forward(emit: Any) -> Any:
        def handler(_topic: str, msg: Any) -> None:
            emit(msg)

        return handler

    def _on_book(self, _topic: str, book: BookSnapshot) -> None:
        self._books.setdefault(book.symbol, []).append(book)
        self._md_times.append(time.monotonic())

    def _on_trade(self, _topic: str, trade: Trade) -> None:
        self._trades.setdefault(trade.symbol, []).append(trade)
        self._md_times.append(time.monotonic())

    def _on_signal(self, _topic: str, update: SignalUpdate) -> None:
        if update.name in HIGH_RATE_SIGNALS:
            self._signals[(update.name, update.symbol)] = update
        else:
            self.sigSignalUpdated.emit(update)

    def _flush(self) -> None:
        if self._signals:
            signals, self._signals = self._signals, {}
            self.sigSignalsFrame.emit(signals)
        if self._books:
            books, self._books = self._books, {}
            self.sigBookFrame.emit(books)
            self.frames_emitted += 1
        if self._trades:
            trades, self._trades = self._trades, {}
            self.sigTradesFrame.emit(trades)

    def _emit_rate(self) -> None:
        now = time.monotonic()
        self.sigFeedRate.emit(float(sum(1 for t in self._md_times if now - t <= 1.0)))

    def close(self) -> None:
        """Stop the timers and leave the bus (the window is closing)."""
        self._timer.stop()
        self._rate_timer.stop()
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
