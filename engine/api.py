"""EngineCommands: the command API shared by the cockpit, headless use and tests.

Widgets never reach into engine internals; they call these coroutines, which
validate and go through the order gateway (where the pre-trade checks run).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from engine.agents.arena import Arena
from engine.agents.scoring import Score
from engine.agents.singularity import Singularity, SlotStatus
from engine.agents.summary import AgentDetail, AgentSummary, agent_detail
from engine.agents.watchtower import Watchtower
from engine.alerts import AlertCenter
from engine.core.errors import CrucibleError
from engine.core.ids import ClientOrderIdGenerator
from engine.execution.gateway import OrderGateway
from engine.execution.protocol import Ack, Instrument, SnapshotReport
from engine.forge.supervisor import ForgeSupervisor
from engine.journal.queries import JournalReader
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, Side, TimeInForce
from engine.model.events import Alert
from engine.model.market import Bar
from engine.model.numbers import on_grid

MANUAL_STRATEGY = "manual"


class OrderValidationError(CrucibleError):
    """An order ticket that cannot be sent as entered (message says which field and why)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EngineCommands:
    """What a person (or a test) can ask the engine to do."""

    def __init__(
        self,
        gateway: OrderGateway,
        symbols: tuple[str, ...],
        arena: Arena | None = None,
        *,
        singularity: Singularity | None = None,
        watchtower: Watchtower | None = None,
        forge: ForgeSupervisor | None = None,
        alerts: AlertCenter | None = None,
    ) -> None:
        self._gateway = gateway
        self._symbols = symbols
        self._arena = arena
        self._singularity = singularity
        self._watchtower = watchtower
        self._forge = forge
        self._alerts = alerts
        self._ids = ClientOrderIdGenerator("M")

    def instrument(self, symbol: str) -> Instrument | None:
        """The venue's tick/lot sizes for ``symbol`` (None until the core has said hello)."""
        return self._gateway.instruments.get(symbol)

    def validate(
        self, symbol: str, side: Side, order_type: OrderType, qty: float, price: float | None
    ) -> None:
        """Raise OrderValidationError for a ticket that cannot be sent."""
        if symbol not in self._symbols:
            raise OrderValidationError("symbol", f"{symbol!r} is not in the configured universe")
        instrument = self._gateway.instruments.get(symbol)
        if instrument is None:
            raise OrderValidationError("symbol", f"the venue does not list {symbol}")
        if not math.isfinite(qty) or qty <= 0:
            raise OrderValidationError("qty", "quantity must be a positive number")
        if qty < instrument.min_qty:
            raise OrderValidationError("qty", f"minimum quantity is {instrument.min_qty:g}")
        if not on_grid(qty, instrument.lot_size):
            raise OrderValidationError(
                "qty", f"quantity must be a multiple of {instrument.lot_size:g}"
            )
        if order_type is OrderType.LIMIT:
            if price is None or not math.isfinite(price) or price <= 0:
                raise OrderValidationError("price", "a limit order needs a positive price")
            if not on_grid(price, instrument.tick_size):
                raise OrderValidationError(
                    "price", f"price must be a multiple of {instrument.tick_size:g}"
                )
        elif price is not None:
            raise OrderValidationError("price", "a market order takes no price")

    async def submit_order(
        self,
        symbol: str,
        side: Side,
        order_type: OrderType,
        qty: float,
        price: float | None = None,
        *,
        strategy_id: str = MANUAL_STRATEGY,
        time_in_force: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> Ack:
        """Validate and send an order through the gateway; returns the core's Ack.

        Raises OrderValidationError, RiskRejected, OrderRejected or LinkDown.
        """
        self.validate(symbol, side, order_type, qty, price)
        order = NewOrder(
            client_order_id=self._ids.next(),
            strategy_id=strategy_id,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price,
            time_in_force=time_in_force,
            post_only=post_only,
            reduce_only=reduce_only,
        )
        return await self._gateway.submit(order)

    async def cancel_order(self, client_order_id: str) -> Ack:
        return await self._gateway.cancel(client_order_id)

    async def cancel_all(self, strategy_id: str | None = None, symbol: str | None = None) -> Ack:
        """Cancel resting orders; positions are kept."""
        return await self._gateway.cancel_all(strategy_id, symbol)

    async def flatten(self, strategy_id: str | None = None, symbol: str | None = None) -> Ack:
        return await self._gateway.flatten(strategy_id, symbol)

    async def kill_switch(self, reason: str = "operator") -> SnapshotReport | None:
        """Halt every agent, then all order flow: cancel every order, flatten every position."""
        if self._arena is not None:
            self._arena.halt(reason)
        return await self._gateway.kill_switch(reason)

    async def pause_entries(self, paused: bool = True) -> None:
        await self._gateway.risk.pause_entries(paused)

    async def resume(self) -> None:
        await self._gateway.resume()

    async def resume_strategy(self, strategy_id: str) -> None:
        """Let a strategy disabled by its daily loss limit take new exposure again."""
        await self._gateway.risk.resume_strategy(strategy_id)

    async def snapshot(self) -> SnapshotReport:
        return await self._gateway.snapshot()

    # -- agents -----------------------------------------------------------------------
    @property
    def arena(self) -> Arena:
        if self._arena is None:
            raise CrucibleError("this engine runs no arena")
        return self._arena

    def list_agents(self) -> list[AgentSummary]:
        """Every live agent with its state and figures."""
        return self.arena.summaries()

    def pause_agent(self, agent_id: str, reason: str = "operator") -> None:
        self.arena.pause(agent_id, reason)

    def resume_agent(self, agent_id: str) -> None:
        self.arena.resume(agent_id)

    async def reap_agent(self, agent_id: str, reason: str = "operator") -> None:
        """Flatten the agent, archive its bundle (kept on disk) and keep its history."""
        await self.arena.remove(agent_id, f"reaped: {reason}", archive=True)

    # -- the population ----------------------------------------------------------------
    def forge_agent(self, symbol: str, replaces: str | None = None) -> str:
        """Commission a forge task for ``symbol`` (or to replace an agent); returns its id."""
        if symbol not in self._symbols:
            raise OrderValidationError("symbol", f"{symbol!r} is not in the configured universe")
        if self._singularity is None:
            raise CrucibleError("this engine runs no singularity")
        return self._singularity.forge_for(symbol, replaces)

    def slots(self) -> list[SlotStatus]:
        """The deployment's slots: which agent fills each, and the forge task working on it."""
        return [] if self._singularity is None else self._singularity.current_slots()

    async def evaluate_agents(self, *, reap: bool = True) -> list[Score]:
        """Have the Watchtower score every agent now (and reap the ones below a threshold)."""
        if self._watchtower is None:
            raise CrucibleError("this engine runs no watchtower")
        return await self._watchtower.evaluate(reap=reap)

    def cancel_forge_task(self, task_id: str) -> bool:
        """Cancel a queued or running forge task (its worker is killed); False if not active."""
        if self._forge is None:
            raise CrucibleError("this engine runs no forge")
        return self._forge.cancel(task_id)

    # -- alerts ----------------------------------------------------------------------
    def alerts(self) -> list[Alert]:
        """Every alert kept (acknowledged or not), oldest first."""
        return [] if self._alerts is None else list(self._alerts.alerts.values())

    def acknowledge_alert(self, alert_id: int) -> Alert:
        """Mark one alert seen (KeyError for an unknown id)."""
        if self._alerts is None:
            raise CrucibleError("this engine keeps no alerts")
        return self._alerts.acknowledge(alert_id)

    # -- market ------------------------------------------------------------------------
    async def recent_bars(self, symbol: str, limit: int = 240) -> list[Bar]:
        """The venue's latest closed 1m bars of ``symbol`` (a chart opens with them)."""
        if symbol not in self._symbols:
            raise OrderValidationError("symbol", f"{symbol!r} is not in the configured universe")
        return await self._gateway.recent_bars(symbol, "1m", limit)

    # -- what the cockpit shows of one agent, and of the forge ---------------------------
    async def agent_detail(self, agent_id: str, decisions: int = 50) -> AgentDetail:
        """One agent's specialists, trades, equity samples and recent decisions (journal reads
        run off the event loop)."""
        agent = self.arena.agents.get(agent_id)
        if agent is None:
            raise KeyError(f"no live agent {agent_id!r}")
        path = self._gateway.journal_path

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            reader = JournalReader(path)
            try:
                return reader.decisions(agent_id, decisions), reader.performance(agent_id)
            finally:
                reader.close()

        recent, equity = await asyncio.get_running_loop().run_in_executor(None, read)
        return agent_detail(agent, self.arena.mark(agent.symbol), recent, equity)

    async def forge_runs(self) -> list[dict[str, Any]]:
        """Every forge task the journal knows (status, reason, report with the gauntlet's gates)."""
        path = self._gateway.journal_path

        def read() -> list[dict[str, Any]]:
            reader = JournalReader(path)
            try:
                rows = reader.forge_runs()
            finally:
                reader.close()
            return [
                r | {"report": json.loads(r["report"]) if r.get("report") else {}} for r in rows
            ]

        return await asyncio.get_running_loop().run_in_executor(None, read)

    # -- what the cockpit's Watchtower log and risk panel show ----------------------------
    async def watchtower_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The Watchtower's newest lines first: evaluations, reaps and replacements
        (journal ``watchtower_log``, ``figures`` decoded; read off the event loop)."""
        path = self._gateway.journal_path

        def read() -> list[dict[str, Any]]:
            reader = JournalReader(path)
            try:
                return reader.watchtower_log(limit)
            finally:
                reader.close()

        return await asyncio.get_running_loop().run_in_executor(None, read)

    def strategy_risk(self) -> list[dict[str, Any]]:
        """Per strategy: today's PnL against its daily loss limit, its largest position
        notional against its position limit, and why it is disabled (if it is)."""
        risk = self._gateway.risk
        portfolio = self._gateway.portfolio
        out = []
        for strategy_id in sorted(portfolio.strategies()):
            limits = risk.limits_for(strategy_id)
            notional = 0.0
            for symbol in self._symbols:
                qty = portfolio.position(strategy_id, symbol).qty
                price = portfolio.price(symbol)
                if qty and price is not None:
                    notional = max(notional, abs(qty) * price)
            out.append(
                {
                    "strategy_id": strategy_id,
                    "day_pnl": risk.strategy_day_pnl(strategy_id),
                    "daily_loss_limit": limits.daily_loss_limit,
                    "position_notional": notional,
                    "max_position_notional": limits.max_position_notional,
                    "disabled": risk.disabled.get(strategy_id, ""),
                }
            )
        return out
