"""Watchtower: scores every agent from the journal and reaps the ones below their thresholds.

Every ``watchtower.interval_minutes`` (and on demand, ``evaluate``) each live
agent is scored from its fills and equity samples in the journal (PnL after
fees, rolling Sharpe, drawdown, hit rate, round trips; ``scoring.py``). The
figures go to the ``performance`` table and every evaluation to the
``watchtower_log``, and are published (``AgentScored``). An agent below a
threshold, after enough round trips, is reaped: paused, flattened, its bundle
archived (kept on disk with its history), and the Singularity is asked for a
replacement. The journal reads run off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.agents.scoring import REAP, Score, score_agent
from engine.config import CrucibleConfig
from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.core.errors import CrucibleError
from engine.core.tasks import TaskSupervisor
from engine.journal import Journal
from engine.journal.queries import JournalReader
from engine.model.events import AgentScored

if TYPE_CHECKING:
    from engine.agents.arena import Arena

log = logging.getLogger(__name__)

ReplacementRequest = Callable[[str, str], None]  # (symbol, reaped agent id)


class Watchtower:
    """Component: periodic and on-demand scoring; reaps and asks for replacements."""

    name = "watchtower"

    def __init__(
        self,
        config: CrucibleConfig,
        bus: EventBus,
        clock: Clock,
        supervisor: TaskSupervisor,
        journal: Journal,
        arena: Arena,
        request_replacement: ReplacementRequest | None = None,
    ) -> None:
        self._cfg = config.watchtower
        self._capital = config.agents.capital_per_agent
        self._bus = bus
        self._clock = clock
        self._supervisor = supervisor
        self._journal = journal
        self._arena = arena
        self.request_replacement = request_replacement
        self.last_scores: dict[str, Score] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._cfg.enabled:
            self._supervisor.spawn("watchtower:loop", self._loop())

    async def stop(self) -> None:
        return None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._cfg.interval_minutes * 60.0)
            await self.evaluate()

    async def evaluate(self, *, reap: bool = True) -> list[Score]:
        """Score every live agent now; reap those below a threshold (unless ``reap`` is False)."""
        async with self._lock:
            agents = list(self._arena.agents.values())
            if not agents:
                return []
            history = await asyncio.get_running_loop().run_in_executor(
                None, self._read, [a.id for a in agents]
            )
            scores = []
            for agent in agents:
                fills, equity = history[agent.id]
                score = score_agent(
                    agent_id=agent.id,
                    capital=agent.state.capital,
                    fills=fills,
                    equity_history=equity,
                    mark=self._arena.mark(agent.symbol),
                    now=self._clock.timestamp_ns(),
                    config=self._cfg,
                )
                scores.append(score)
                self.last_scores[agent.id] = score
                self._record(agent.id, agent.symbol, score)
                if reap and score.verdict == REAP:
                    await self._reap(agent.id, agent.symbol, score.reason)
            return scores

    def _read(self, agent_ids: list[str]) -> dict[str, tuple[list[dict[str, Any]], list[float]]]:
        reader = JournalReader(self._journal.path)
        try:
            return {
                a: (reader.fills(a), [float(r["equity"]) for r in reader.performance(a)])
                for a in agent_ids
            }
        finally:
            reader.close()

    def _record(self, agent_id: str, symbol: str, score: Score) -> None:
        figures = score.figures()
        self._journal.record_performance(
            agent_id, score.ts, score.equity, score.pnl, score.position, score.trades
        )
        self._journal.record_watchtower(
            score.ts, agent_id, symbol, score.verdict, score.reason, figures
        )
        self._bus.publish(
            topics.agent_score(agent_id),
            AgentScored(agent_id, symbol, score.ts, score.verdict, score.reason, figures),
        )

    async def _reap(self, agent_id: str, symbol: str, why: str) -> None:
        log.warning("watchtower reaps %s: %s", agent_id, why)
        try:
            await self._arena.remove(agent_id, f"reaped by the watchtower: {why}", archive=True)
        except (CrucibleError, TimeoutError, KeyError) as exc:
            log.error("could not reap %s: %s", agent_id, exc)
            return
        ts = self._clock.timestamp_ns()
        self._journal.record_watchtower(ts, agent_id, symbol, "reaped", why, {})
        if self.request_replacement is not None:
            self.request_replacement(symbol, agent_id)

    def record_replacement(self, reaped: str, symbol: str, new_agent: str) -> None:
        """Note in the log what replaced a reaped or aged agent (the Singularity calls this)."""
        ts = self._clock.timestamp_ns()
        self._journal.record_watchtower(
            ts, reaped, symbol, "replaced", f"replaced by {new_agent}", {"agent_id": new_agent}
        )
