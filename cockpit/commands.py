"""CommandFacade: the cockpit's only way to act on the engine.

Widgets call these slots; each awaits the engine's command API and reports
the outcome through signals, never through an exception inside a widget.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from qasync import asyncSlot

from engine.api import EngineCommands, OrderValidationError
from engine.core.errors import CrucibleError
from engine.model.enums import OrderType, Side

log = logging.getLogger(__name__)


class CommandFacade(QObject):
    """Async slots over EngineCommands; results arrive as signals."""

    sigCommandSucceeded = Signal(str)  # human-readable summary
    sigCommandFailed = Signal(str)  # human-readable reason
    sigTicketInvalid = Signal(str, str)  # field, message
    sigKillSwitchDone = Signal(object)  # SnapshotReport | None
    sigForgeSubmitted = Signal(str, str)  # symbol, task id
    sigAgentsChanged = Signal()  # an agent command went through: read the agents again

    def __init__(self, commands: EngineCommands, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands = commands

    @property
    def commands(self) -> EngineCommands:
        return self._commands

    async def _run(self, what: str, call: Callable[[], Any]) -> Any:
        """Run one command (a coroutine function or a plain call); report the outcome."""
        try:
            result = call()
            if inspect.isawaitable(result):
                result = await result
        except OrderValidationError as exc:
            self.sigTicketInvalid.emit(exc.field, exc.message)
            self.sigCommandFailed.emit(f"{what} failed: {exc}")
            return None
        except (CrucibleError, TimeoutError, KeyError) as exc:
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            log.warning("%s failed: %s", what, reason)
            self.sigCommandFailed.emit(f"{what} failed: {reason}")
            return None
        log.info("command: %s", what)
        self.sigCommandSucceeded.emit(what)
        return result

    @asyncSlot(str, object, object, float, object)
    async def submit_order(
        self, symbol: str, side: Side, order_type: OrderType, qty: float, price: float | None
    ) -> None:
        what = f"{side.value} {qty:g} {symbol} {order_type.value}" + (
            f" @ {price:g}" if price else ""
        )
        await self._run(
            what, lambda: self._commands.submit_order(symbol, side, order_type, qty, price)
        )

    @asyncSlot(str)
    async def cancel_order(self, client_order_id: str) -> None:
        await self._run(
            f"cancel {client_order_id}", lambda: self._commands.cancel_order(client_order_id)
        )

    @asyncSlot()
    async def cancel_all(self) -> None:
        await self._run("cancel all orders", self._commands.cancel_all)

    @asyncSlot()
    async def kill_switch(self) -> None:
        snapshot = await self._run(
            "KILL SWITCH", lambda: self._commands.kill_switch("operator kill switch")
        )
        self.sigKillSwitchDone.emit(snapshot)

    @asyncSlot(bool)
    async def pause_entries(self, paused: bool) -> None:
        await self._run(
            "pause entries" if paused else "allow entries",
            lambda: self._commands.pause_entries(paused),
        )

    @asyncSlot()
    async def resume(self) -> None:
        await self._run("resume trading", self._commands.resume)

    @asyncSlot(str)
    async def resume_strategy(self, strategy_id: str) -> None:
        await self._run(
            f"resume strategy {strategy_id}", lambda: self._commands.resume_strategy(strategy_id)
        )

    # -- the population -----------------------------------------------------------------
    @asyncSlot(str)
    async def pause_agent(self, agent_id: str) -> None:
        await self._run(
            f"pause {agent_id}", lambda: self._commands.pause_agent(agent_id, "operator")
        )
        self.sigAgentsChanged.emit()

    @asyncSlot(str)
    async def resume_agent(self, agent_id: str) -> None:
        await self._run(f"resume {agent_id}", lambda: self._commands.resume_agent(agent_id))
        self.sigAgentsChanged.emit()

    @asyncSlot(str)
    async def reap_agent(self, agent_id: str) -> None:
        await self._run(f"reap {agent_id}", lambda: self._commands.reap_agent(agent_id, "operator"))
        self.sigAgentsChanged.emit()

    @asyncSlot(str, str)
    async def forge_agent(self, symbol: str, replaces: str = "") -> None:
        what = f"forge {symbol}" + (f" to replace {replaces}" if replaces else "")
        task_id = await self._run(
            what, lambda: self._commands.forge_agent(symbol, replaces or None)
        )
        if task_id:
            self.sigForgeSubmitted.emit(symbol, str(task_id))

    @asyncSlot(str)
    async def cancel_forge_task(self, task_id: str) -> None:
        def cancel() -> bool:
            if not self._commands.cancel_forge_task(task_id):
                raise CrucibleError(f"task {task_id} is not queued or running")
            return True

        await self._run(f"cancel forge task {task_id}", cancel)

    @asyncSlot()
    async def evaluate_agents(self) -> None:
        await self._run("Watchtower evaluation", lambda: self._commands.evaluate_agents())
        self.sigAgentsChanged.emit()

    # -- alerts -------------------------------------------------------------------------
    @asyncSlot(int)
    async def acknowledge_alert(self, alert_id: int) -> None:
        await self._run(
            f"acknowledge alert {alert_id}", lambda: self._commands.acknowledge_alert(alert_id)
        )

    @asyncSlot()
    async def acknowledge_all(self) -> None:
        def ack_all() -> int:
            pending = [a.alert_id for a in self._commands.alerts() if not a.acknowledged]
            for alert_id in pending:
                self._commands.acknowledge_alert(alert_id)
            return len(pending)

        await self._run("acknowledge every alert", ack_all)
