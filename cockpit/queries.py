"""EngineQueries: what the panels read from the engine, as Qt signals.

The bridge carries what the engine *publishes*; this object *asks*: a poll
once a second of the cheap in-memory reads (the agents' summaries, the
deployment slots, per-strategy risk; the alerts once, then the bridge brings
every change), and on demand the reads that
touch the journal (an agent's detail, forge runs, the Watchtower log, the
venue's recent bars), which ``EngineCommands`` runs off the event loop. Every
read goes through ``EngineCommands``; a failure is logged and reported, never
raised into a widget.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from qasync import asyncSlot

from engine.api import EngineCommands
from engine.core.errors import CrucibleError

log = logging.getLogger(__name__)


class EngineQueries(QObject):
    """Periodic and on-demand reads; results arrive as signals."""

    sigAgents = Signal(object)  # list[AgentSummary]
    sigSlots = Signal(object)  # list[SlotStatus]
    sigStrategyRisk = Signal(object)  # list[dict]
    sigAlerts = Signal(object)  # list[Alert]: every alert kept (first poll; then the bridge)
    sigAgentDetail = Signal(object)  # AgentDetail
    sigAgentDetailFailed = Signal(str, str)  # agent id, reason
    sigForgeRuns = Signal(object)  # list[dict] (report decoded)
    sigWatchtowerLog = Signal(object)  # list[dict], newest first
    sigRecentBars = Signal(str, object)  # symbol, list[Bar]
    sigReadFailed = Signal(str)  # what failed and why

    def __init__(
        self, commands: EngineCommands, poll_ms: int = 1000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._commands = commands
        self.polls = 0
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    @property
    def commands(self) -> EngineCommands:
        return self._commands

    def poll(self) -> None:
        """Read the in-memory state (cheap: no I/O) and emit it."""
        c = self._commands
        try:
            self.sigAgents.emit(c.list_agents())
        except CrucibleError:
            self.sigAgents.emit([])
        self.sigSlots.emit(c.slots())
        self.sigStrategyRisk.emit(c.strategy_risk())
        if self.polls == 0:
            self.sigAlerts.emit(c.alerts())
        self.polls += 1

    def stop(self) -> None:
        self._timer.stop()

    async def _read(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except (CrucibleError, OSError, TimeoutError, sqlite3.Error) as exc:
            log.warning("could not read %s: %s", what, exc)
            self.sigReadFailed.emit(f"could not read {what}: {exc}")
            return None

    @asyncSlot(str)
    async def agent_detail(self, agent_id: str) -> None:
        try:
            detail = await self._commands.agent_detail(agent_id)
        except KeyError:
            self.sigAgentDetailFailed.emit(agent_id, "no longer in the arena")
            return
        except (CrucibleError, OSError, sqlite3.Error) as exc:
            self.sigAgentDetailFailed.emit(agent_id, str(exc))
            return
        self.sigAgentDetail.emit(detail)

    @asyncSlot()
    async def forge_runs(self) -> None:
        runs = await self._read("forge runs", self._commands.forge_runs())
        if runs is not None:
            self.sigForgeRuns.emit(runs)

    @asyncSlot()
    async def watchtower_log(self) -> None:
        lines = await self._read("the Watchtower log", self._commands.watchtower_log())
        if lines is not None:
            self.sigWatchtowerLog.emit(lines)

    @asyncSlot(str)
    async def recent_bars(self, symbol: str) -> None:
        bars = await self._read(f"recent bars of {symbol}", self._commands.recent_bars(symbol))
        if bars is not None:
            self.sigRecentBars.emit(symbol, bars)
