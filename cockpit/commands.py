"""CommandFacade: the cockpit's only way to act on the engine.

Widgets call these slots; each awaits the engine's command API and reports
the outcome through signals, never through an exception inside a widget.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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

    def __init__(self, commands: EngineCommands, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands = commands

    @property
    def commands(self) -> EngineCommands:
        return self._commands

    async def _run(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await call()
        except OrderValidationError as exc:
            self.sigTicketInvalid.emit(exc.field, exc.message)
            return None
        except (CrucibleError, TimeoutError) as exc:
            log.warning("%s failed: %s", what, exc)
            self.sigCommandFailed.emit(f"{what} failed: {exc}")
            return None
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
