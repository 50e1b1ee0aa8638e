"""Arena: the live population. Loads agents, feeds them bars, sends their orders.

* At start every registered bundle under ``paths.models_dir`` is loaded; one
  that is corrupt, tampered with or does not fit this engine is reported (an
  ``AgentLifecycle`` FAULTED event and the log) and skipped, the rest load.
  Agents join (``add``) and leave (``remove``, which flattens first) while the
  engine runs.
* Each closed 1m bar updates the symbol's feature windows once; the agents on
  that symbol then run their specialists. Heavy inference runs in a thread pool
  with a timeout, so a slow agent delays neither the others nor the loop; an
  agent whose inference has proved light (``agents.inline_inference_ms`` of CPU)
  runs on the loop, where it costs less than the hand-off to a thread would. A failure is logged, counted and published
  (``AgentFault``); ``agents.max_consecutive_errors`` in a row pause the agent.
* Orders go through the order gateway under the agent's id; fills come back
  through the gateway's per-strategy callback, the only place agent holdings
  change. Each decision is journaled (``agent_decisions``) and published.
* A halted engine (kill switch) halts every agent before anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import shutil
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from engine.agents.agent import Agent, Market, Plan
from engine.agents.feature_hub import FeatureHub, FeatureWindow
from engine.agents.inference import Inference
from engine.agents.signal_board import SignalBoard, SignalSnapshot
from engine.agents.state import AgentState
from engine.agents.summary import AgentSummary, summarize
from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.errors import CrucibleError, DataError, LinkDown, OrderRejected, RiskRejected
from engine.core.ids import ClientOrderIdGenerator
from engine.core.tasks import TaskSupervisor
from engine.execution.gateway import OrderGateway
from engine.forge.registry import AgentBundle, list_agents, load_bundle
from engine.journal import Journal
from engine.journal.queries import JournalReader
from engine.model.commands import NewOrder
from engine.model.enums import AgentState as Lifecycle
from engine.model.enums import OrderType, Scope, TimeInForce, TradingState
from engine.model.events import (
    AgentDecision,
    AgentFault,
    AgentLifecycle,
    Fill,
    OrderUpdate,
    TradingStateChanged,
)
from engine.model.market import Bar

log = logging.getLogger(__name__)

ARCHIVE_DIR = "archive"
LIVE_TIMEFRAME = "1m"
MAX_WARMUP_BARS = 3_000  # what the core's Bars command serves at most


class Arena:
    """Component: every live agent, fed once per closed bar."""

    name = "arena"

    def __init__(
        self,
        config: CrucibleConfig,
        bus: EventBus,
        clock: Clock,
        supervisor: TaskSupervisor,
        journal: Journal,
        gateway: OrderGateway,
    ) -> None:
        self._config = config
        self._cfg = config.agents
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._journal = journal
        self._gateway = gateway
        self.models_dir = config.paths.resolve(config.paths.models_dir)
        self.agents: dict[str, Agent] = {}
        self.hub = FeatureHub(self._cfg.history_rows, self._on_windows)
        self.board = SignalBoard(bus, clock, self._cfg)
        self._pool = ThreadPoolExecutor(self._cfg.workers, thread_name_prefix="crucible-agents")
        self._ids = ClientOrderIdGenerator("A")
        self._locks: dict[str, asyncio.Lock] = {}  # agent id -> one decision at a time
        self._bar_t0: dict[str, int] = {}  # symbol -> when its latest bar was published
        self._arrival_ns: int | None = None  # the bar being handed to the hub, when it came
        self._subs: list[Subscription] = []
        self._restored: dict[str, dict[str, Any]] = {}
        self._last_skip: dict[str, str] = {}
        self.refused: dict[str, str] = {}  # bundle directory -> why it could not be loaded
        self.halted = False
        self._stopped = False
        # Inputs complete (the bar that completed a window) -> order handed to the gateway,
        # and -> decision done (its order, if any, handed to the gateway) in ns, the newest
        # of each (`crucible bench arena` reads them).
        self.order_latencies_ns: deque[int] = deque(maxlen=100_000)
        self.decision_latencies_ns: deque[int] = deque(maxlen=100_000)
        # A follower's own bar -> its leader's bar of that minute (features need both).
        self.context_waits_ns: deque[int] = deque(maxlen=100_000)
        self.faults = 0

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self.board.start()
        self.halted = self._gateway.risk.state is TradingState.HALTED
        self._subs = [
            self._bus.subscribe(
                topics.all_of("md.bar"), self._on_bar, name="arena:bars", direct=True
            ),
            self._bus.subscribe(
                topics.RISK_STATE, self._on_risk_state, name="arena:risk", direct=True
            ),
        ]
        if not self._cfg.enabled:
            log.info("agents disabled (agents.enabled = false): the arena loads none")
            return
        loop = asyncio.get_running_loop()
        self._restored = await loop.run_in_executor(None, self._read_restored)
        for agent_id in await loop.run_in_executor(None, list_agents, self.models_dir):
            await self.add(self.models_dir / agent_id)

    async def stop(self) -> None:
        self._stopped = True
        for sub in self._subs:
            self._bus.unsubscribe(sub)
        self._subs.clear()
        self.board.stop()
        for agent in self.agents.values():
            self._save(agent)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _read_restored(self) -> dict[str, dict[str, Any]]:
        reader = JournalReader(self._journal.path)
        try:
            return reader.agent_states()
        finally:
            reader.close()

    # -- joining and leaving ---------------------------------------------------------------
    async def add(self, path: Path) -> Agent | None:
        """Load the bundle at ``path`` and let it trade; None (reported) if it cannot."""
        loop = asyncio.get_running_loop()
        try:
            bundle = await loop.run_in_executor(self._pool, load_bundle, path)
            agent = await self._admit(bundle)
        except (DataError, OSError, ValueError, KeyError) as exc:
            reason = f"cannot load agent bundle {path.name}: {exc}"
            log.error("%s; skipped", reason)
            self.refused[path.name] = str(exc)
            self._lifecycle(path.name, "", Lifecycle.FAULTED, reason)
            return None
        self.agents[agent.id] = agent
        self._gateway.register_strategy(agent.id, functools.partial(self._on_report, agent))
        self._lifecycle(agent.id, agent.symbol, agent.lifecycle, agent.pause_reason or "loaded")
        log.info("agent %s joined (%s, %s)", agent.id, agent.symbol, "+".join(agent.kinds))
        return agent

    async def _admit(self, bundle: AgentBundle) -> Agent:
        if bundle.agent_id in self.agents:
            raise DataError(f"agent {bundle.agent_id} is already live")
        if bundle.symbol not in self._config.universe.symbols:
            raise DataError(f"symbol {bundle.symbol} is not in the universe")
        timeframe = str(bundle.metadata.get("timeframe", LIVE_TIMEFRAME))
        if timeframe != LIVE_TIMEFRAME:
            raise DataError(f"trained on {timeframe} bars; live agents decide on 1m bars")
        features = dict(bundle.metadata.get("features_config") or {})
        window, new = self.hub.window_for(bundle.symbol, features, bundle.feature_set_id)
        if new:
            self.hub.warming.add((window.symbol, window.feature_set_id))
            try:
                await self._warm(window)
            finally:
                self.hub.catch_up(window)
        restored = self._restored.get(bundle.agent_id)
        state = AgentState.from_json(restored) if restored else None
        agent = Agent(bundle, window, self._cfg, state)
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, agent.runner.measure)
        except Exception as exc:  # whatever a broken model raises: refuse the bundle
            raise DataError(f"its models cannot score a row: {exc!r}") from exc
        venue_qty = self._gateway.portfolio.position(agent.id, agent.symbol).qty
        if abs(venue_qty - agent.state.qty) > 1e-9:
            agent.pause(
                f"restored position {agent.state.qty:g} but the venue holds {venue_qty:g}: "
                "resume to adopt the venue's position, or reap"
            )
        elif restored and restored.get("state") == Lifecycle.PAUSED.value:
            agent.pause("paused before the restart")
        return agent

    async def _warm(self, window: FeatureWindow) -> None:
        """Feed a new window the venue's recent bars (as many as its features need)."""
        limit = min(MAX_WARMUP_BARS, window.warmup_bars + self._cfg.history_rows)
        bars: dict[str, list[Bar]] = {}
        for symbol in (window.symbol, *window.context_symbols):
            try:
                bars[symbol] = await self._gateway.recent_bars(symbol, LIVE_TIMEFRAME, limit)
            except (CrucibleError, TimeoutError) as exc:
                log.warning("no recent bars for %s (%s): features warm up live", symbol, exc)
                bars[symbol] = []
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self.hub.warm, window, bars)

    async def remove(self, agent_id: str, reason: str, *, archive: bool = False) -> None:
        """Flatten the agent, stop it and (``archive``) move its bundle to models/archive/."""
        agent = self._agent(agent_id)
        agent.pause(reason)
        try:
            await self._gateway.cancel_all(strategy_id=agent_id, symbol=agent.symbol)
            await self._gateway.flatten(strategy_id=agent_id, symbol=agent.symbol)
            await self._wait_flat(agent)
        except (LinkDown, OrderRejected, TimeoutError) as exc:
            log.error("could not flatten %s before removing it: %s", agent_id, exc)
            raise
        self._gateway.unregister_strategy(agent_id)
        del self.agents[agent_id]
        agent.lifecycle = Lifecycle.REAPED if archive else Lifecycle.PAUSED
        self._save(agent)
        if archive:
            await asyncio.get_running_loop().run_in_executor(None, self._archive, agent.bundle.path)
        self._lifecycle(agent_id, agent.symbol, agent.lifecycle, reason)
        used = {(a.symbol, a.window.feature_set_id) for a in self.agents.values()}
        self.hub.release(k for k in list(self.hub.windows) if k not in used)

    async def _wait_flat(self, agent: Agent, timeout_s: float = 10.0) -> None:
        """Until the flattening fills have reached the agent (they arrive as reports)."""
        deadline = time.monotonic() + timeout_s
        while not agent.state.flat or agent.state.pending_order is not None:
            venue_qty = self._gateway.portfolio.position(agent.id, agent.symbol).qty
            if agent.state.flat and abs(venue_qty) < 1e-12:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{agent.id} still holds {agent.state.qty:g} after flatten")
            await asyncio.sleep(0.02)

    def _archive(self, path: Path) -> None:
        target = self.models_dir / ARCHIVE_DIR / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))

    # -- operator actions ------------------------------------------------------------------
    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise KeyError(f"no live agent {agent_id!r}")
        return agent

    def pause(self, agent_id: str, reason: str = "operator") -> None:
        agent = self._agent(agent_id)
        agent.pause(reason)
        self._save(agent)
        self._lifecycle(agent_id, agent.symbol, agent.lifecycle, reason)

    def resume(self, agent_id: str) -> None:
        """Let a paused agent decide again (adopting the venue's position if they differ)."""
        agent = self._agent(agent_id)
        venue_qty = self._gateway.portfolio.position(agent_id, agent.symbol).qty
        if abs(venue_qty - agent.state.qty) > 1e-9:
            mark = self._gateway.portfolio.price(agent.symbol) or agent.state.entry_price
            agent.state.reconcile(venue_qty, mark, self._clock.timestamp_ns())
        agent.resume()
        self._save(agent)
        self._lifecycle(agent_id, agent.symbol, agent.lifecycle, "resumed")

    def halt(self, reason: str) -> None:
        """Stop every agent deciding (the kill switch does this before anything else)."""
        self.halted = True
        log.warning("arena halted: %s", reason)

    def _on_risk_state(self, _topic: str, change: TradingStateChanged) -> None:
        if change.scope is Scope.GLOBAL:
            self.halted = change.state is TradingState.HALTED

    def mark(self, symbol: str) -> float | None:
        """The price ``symbol`` is valued at (its latest mark, else its last fill)."""
        return self._gateway.portfolio.price(symbol)

    def summaries(self) -> list[AgentSummary]:
        portfolio = self._gateway.portfolio
        return [summarize(a, portfolio.price(a.symbol), self.halted) for a in self.agents.values()]

    # -- bars -----------------------------------------------------------------------------
    def _on_bar(self, _topic: str, bar: Bar) -> None:
        if bar.timeframe == LIVE_TIMEFRAME and bar.closed and not self._stopped:
            self._arrival_ns = self._bar_t0[bar.symbol] = time.monotonic_ns()
            try:
                self.hub.on_bar(bar)  # synchronous, in bar order; ready windows: _on_windows
            finally:
                self._arrival_ns = None

    def _on_windows(self, windows: list[FeatureWindow]) -> None:
        """Windows whose inputs are complete: decide from the moment they were.

        That is the arrival of the bar that completed them: a follower's own bar,
        or its leader's of the same minute that it waited for (``context_waits_ns``
        has that wait), or now when the grace period released it without.
        """
        t0 = self._arrival_ns if self._arrival_ns is not None else time.monotonic_ns()
        for window in windows:
            own = self._bar_t0.get(window.symbol, t0)
            if own < t0:
                self.context_waits_ns.append(t0 - own)
            agents = [a for a in self.agents.values() if a.window is window]
            if agents:
                self._supervisor.spawn(f"arena:{window.symbol}", self._run_window(agents, t0))

    async def _run_window(self, agents: list[Agent], t0: int) -> None:
        signals = self.board.snapshot(agents[0].symbol)
        await asyncio.gather(*(self._step_once(a, signals, t0) for a in agents))

    async def _step_once(self, agent: Agent, signals: SignalSnapshot, t0: int) -> None:
        """One decision at a time per agent (a late step waits and decides on the newest bar)."""
        lock = self._locks.setdefault(agent.id, asyncio.Lock())
        async with lock:
            await self._step(agent, signals, t0)

    async def _step(self, agent: Agent, signals: SignalSnapshot, t0: int) -> None:
        if self._stopped:
            return
        if self.halted or not agent.trading:
            why = "engine halted" if self.halted else f"paused: {agent.pause_reason}"
            self._record(agent, Plan("skip", why))
            return
        not_ready = agent.ready()
        if not_ready is not None:
            self._record(agent, Plan("skip", not_ready))
            return
        try:
            inference = await self._infer(agent)
            plan = agent.decide(inference, signals, self._market(agent))
        except Exception as exc:  # an agent's fault must not stop the arena
            self._fault(agent, exc)
            return
        agent.record_success()
        cid = None
        if plan.sends_order and plan.side is not None:
            cid = self._ids.next()
            order = NewOrder(
                cid,
                agent.id,
                agent.symbol,
                plan.side,
                OrderType.MARKET,
                plan.qty,
                time_in_force=TimeInForce.IOC,
                reduce_only=plan.action == "exit",
            )
            agent.order_sent(cid, plan)
            handed = time.monotonic_ns() - t0  # the gateway checks and sends it before its Ack
            self.order_latencies_ns.append(handed)
            self.decision_latencies_ns.append(handed)
            try:
                await self._gateway.submit(order)
            except (RiskRejected, OrderRejected, LinkDown) as exc:
                agent.order_failed()
                plan = dataclasses.replace(
                    plan, action="skip", reason=f"{plan.reason}; order not placed: {exc}"
                )
                cid = None
        else:
            self.decision_latencies_ns.append(time.monotonic_ns() - t0)
        self._record(agent, plan, cid)

    async def _infer(self, agent: Agent) -> Inference:
        """The agent's votes: on the loop when its inference is light, else in the pool."""
        values = agent.window.latest(agent.bundle.feature_names, agent.runner.rows_needed)
        cost = agent.runner.cost_ms
        if cost is not None and cost <= self._cfg.inline_inference_ms:
            return agent.runner.run(values)
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._pool, agent.runner.run, values),
            self._cfg.decision_timeout_ms / 1e3,
        )

    def _market(self, agent: Agent) -> Market:
        instrument = self._gateway.instruments.get(agent.symbol)
        if instrument is None:
            raise DataError(f"the venue does not list {agent.symbol}")
        radar = self._config.signals.radar
        return Market(
            lot_size=instrument.lot_size,
            min_qty=instrument.min_qty,
            max_position_notional=self._gateway.risk.limits_for(agent.id).max_position_notional,
            regime_thresholds=(radar.exit_threshold, radar.enter_threshold),
        )

    def _fault(self, agent: Agent, exc: BaseException) -> None:
        error = "decision timed out" if isinstance(exc, TimeoutError) else repr(exc)
        self.faults += 1
        pause = agent.record_error()
        log.error(
            "agent %s failed to decide (%d in a row): %s",
            agent.id,
            agent.state.consecutive_errors,
            error,
        )
        if pause:
            agent.pause(f"{agent.state.consecutive_errors} failed decisions in a row: {error}")
            self._lifecycle(agent.id, agent.symbol, agent.lifecycle, agent.pause_reason)
        self._bus.publish(
            topics.agent_fault(agent.id),
            AgentFault(
                agent.id,
                agent.symbol,
                error,
                agent.state.consecutive_errors,
                self._clock.timestamp_ns(),
                pause,
            ),
        )
        self._save(agent)

    # -- reports ---------------------------------------------------------------------------
    def _on_report(self, agent: Agent, update: OrderUpdate, fill: Fill | None) -> None:
        agent.on_report(update, fill)
        if fill is not None or update.client_order_id == agent.state.pending_order:
            self._save(agent)

    # -- journal and bus -------------------------------------------------------------------
    def _record(self, agent: Agent, plan: Plan, client_order_id: str | None = None) -> None:
        if plan.action == "skip" and self._last_skip.get(agent.id) == plan.reason:
            return  # a repeated reason to do nothing is said once
        self._last_skip[agent.id] = plan.reason if plan.action == "skip" else ""
        ts = self._clock.timestamp_ns()
        price = agent.window.closes[-1] if agent.window.closes else None
        decision = AgentDecision(
            agent.id, agent.symbol, ts, plan.action, plan.reason, plan.qty, price,
            client_order_id, plan.detail,
        )  # fmt: skip
        self._journal.record_decision(
            ts, agent.id, agent.symbol, plan.action, plan.reason, plan.qty, price,
            client_order_id, plan.detail,
        )  # fmt: skip
        self._bus.publish(topics.agent_decision(agent.id), decision)
        if plan.action != "skip":
            self._save(agent)

    def _save(self, agent: Agent) -> None:
        self._journal.save_agent_state(
            agent.id,
            agent.symbol,
            agent.lifecycle.value,
            agent.state.to_json(),
            self._clock.timestamp_ns(),
        )

    def _lifecycle(self, agent_id: str, symbol: str, state: Lifecycle, reason: str) -> None:
        self._bus.publish(
            topics.agent_lifecycle(agent_id),
            AgentLifecycle(agent_id, symbol, state, self._clock.timestamp_ns(), reason),
        )
