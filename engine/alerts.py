"""AlertCenter: what needs a person's attention, kept until someone acknowledges it.

It listens on the bus for risk breaches and fail-closed states (a tripped
breaker, a disabled strategy, stale marks or books, a silent executor, the
kill switch, the dead-man's switch), reaps and faulted agents, agent errors,
forge tasks that were rejected, failed or timed out, and background tasks that
died. Each becomes an ``Alert`` (published on ``alert``); a repeat of an
unacknowledged alert with the same key raises its count instead of piling up.
``acknowledge`` (through ``EngineCommands``) clears one.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.model.enums import AgentState, ForgeStage, RiskEventKind
from engine.model.events import (
    AgentFault,
    AgentLifecycle,
    Alert,
    BookStatus,
    ForgeProgress,
    RiskEvent,
    TaskFailed,
)

MAX_ALERTS = 500
_RISK_SEVERITY = {
    RiskEventKind.KILL_SWITCH: "critical",
    RiskEventKind.DEADMAN: "critical",
    RiskEventKind.LINK_DOWN: "critical",
    RiskEventKind.LIMIT_BREACH: "warning",
    RiskEventKind.ORDER_REFUSED: "info",
}
_FORGE_ENDS = {ForgeStage.REJECTED: "info", ForgeStage.FAILED: "warning"}
_FORGE_ENDS[ForgeStage.TIMED_OUT] = "warning"


class AlertCenter:
    """Component: turns the bus's bad news into alerts that wait for an acknowledgement."""

    name = "alerts"

    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._ids = itertools.count(1)
        self.alerts: OrderedDict[int, Alert] = OrderedDict()
        self._open: dict[str, int] = {}  # key of an unacknowledged alert -> its id
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        routes: list[tuple[str, Any]] = [
            (topics.RISK_EVENT, self._on_risk),
            (topics.all_of("md.status"), self._on_book_status),
            (topics.all_of("agent.lifecycle"), self._on_lifecycle),
            (topics.all_of("agent.fault"), self._on_fault),
            (topics.all_of("forge.progress"), self._on_forge),
            (topics.ENGINE_TASK_FAILED, self._on_task_failed),
        ]
        self._subs = [
            self._bus.subscribe(pattern, handler, name=f"alerts:{pattern}", direct=True)
            for pattern, handler in routes
        ]

    async def stop(self) -> None:
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()

    # -- raising -----------------------------------------------------------------
    def raise_alert(self, key: str, severity: str, source: str, message: str) -> Alert:
        """A new alert, or the count of the same unacknowledged one raised."""
        now = self._clock.timestamp_ns()
        existing = self._open.get(key)
        if existing is not None and existing in self.alerts:
            old = self.alerts[existing]
            alert = Alert(old.alert_id, key, old.severity, source, message, old.ts_event, now,
                          old.count + 1)  # fmt: skip
        else:
            alert = Alert(next(self._ids), key, severity, source, message, now, now)
            self._open[key] = alert.alert_id
        self.alerts[alert.alert_id] = alert
        self.alerts.move_to_end(alert.alert_id)
        while len(self.alerts) > MAX_ALERTS:
            self.alerts.popitem(last=False)
        self._bus.publish(topics.ALERT, alert)
        return alert

    def acknowledge(self, alert_id: int) -> Alert:
        """Mark one alert seen; raises KeyError for an unknown id."""
        alert = self.alerts[alert_id]
        if not alert.acknowledged:
            alert = Alert(alert.alert_id, alert.key, alert.severity, alert.source, alert.message,
                          alert.ts_event, self._clock.timestamp_ns(), alert.count, True)  # fmt: skip
            self.alerts[alert_id] = alert
            if self._open.get(alert.key) == alert_id:
                del self._open[alert.key]
            self._bus.publish(topics.ALERT, alert)
        return alert

    def unacknowledged(self) -> list[Alert]:
        return [a for a in self.alerts.values() if not a.acknowledged]

    # -- sources -----------------------------------------------------------------
    def _on_risk(self, _topic: str, event: RiskEvent) -> None:
        severity = _RISK_SEVERITY.get(event.kind)
        if severity is None:
            return
        target = event.target or ""
        key = f"risk:{event.kind.value}:{target}"
        if event.kind is RiskEventKind.ORDER_REFUSED:
            code = event.message.split(" refused: ", 1)[-1].split(":", 1)[0]
            key = f"{key}:{code}"  # one alert per strategy and reason, counting repeats
        self.raise_alert(key, severity, f"risk {event.kind.value}", event.message)

    def _on_book_status(self, _topic: str, status: BookStatus) -> None:
        if status.stale:
            self.raise_alert(
                f"book:{status.symbol}", "warning", "market data",
                f"{status.symbol} book is stale: {status.reason}",
            )  # fmt: skip

    def _on_lifecycle(self, _topic: str, event: AgentLifecycle) -> None:
        if event.state is AgentState.REAPED:
            self.raise_alert(f"reaped:{event.agent_id}", "info", "arena",
                             f"{event.agent_id} reaped: {event.reason}")  # fmt: skip
        elif event.state is AgentState.FAULTED:
            self.raise_alert(f"faulted:{event.agent_id}", "warning", "arena",
                             f"{event.agent_id}: {event.reason}")  # fmt: skip

    def _on_fault(self, _topic: str, fault: AgentFault) -> None:
        severity = "warning" if fault.paused else "info"
        note = "; paused" if fault.paused else ""
        self.raise_alert(f"fault:{fault.agent_id}", severity, "agent",
                         f"{fault.agent_id} failed to decide ({fault.consecutive} in a row): "
                         f"{fault.error}{note}")  # fmt: skip

    def _on_forge(self, _topic: str, progress: ForgeProgress) -> None:
        severity = _FORGE_ENDS.get(progress.stage)
        if severity is None:
            return
        self.raise_alert(f"forge:{progress.task_id}", severity, "forge",
                         f"forge task {progress.task_id} ({progress.symbol}) "
                         f"{progress.stage.value.lower()}: {progress.message}")  # fmt: skip

    def _on_task_failed(self, _topic: str, failure: TaskFailed) -> None:
        self.raise_alert(f"task:{failure.name}", "warning", "engine",
                         f"background task {failure.name} failed: {failure.error}")  # fmt: skip
