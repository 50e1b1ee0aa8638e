"""Singularity: keeps the deployment filled by commissioning forge tasks.

``[deployment.agents]`` says how many agents each symbol should have. At start,
every ``deployment.check_interval_s`` and whenever an agent leaves, the
Singularity compares it with the live agents and the tasks already running:

* an empty slot gets a forge task (after the training history is in the store,
  ``TrainingHistory``);
* an agent older than ``deployment.max_age_hours`` gets a replacement task; the
  replacement joins first, then the old agent is flattened and archived;
* a registered agent joins the Arena at once, without a restart;
* a rejected, failed or timed-out task is retried for its slot with a new seed
  after a back-off that doubles (``retry_backoff_s`` .. ``max_backoff_s``); the
  reason is logged, kept for the cockpit (``slots``) and published by the forge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.agents.training_history import TrainingHistory
from engine.config import CrucibleConfig
from engine.core.clock import Clock
from engine.core.errors import CrucibleError, TemporaryError
from engine.core.tasks import TaskSupervisor
from engine.forge.supervisor import ForgeSupervisor
from engine.forge.task import DEFAULT_ENTRYPOINT, ForgeOutcome, ForgeTask

if TYPE_CHECKING:
    from engine.agents.arena import Arena
    from engine.agents.watchtower import Watchtower

log = logging.getLogger(__name__)

_HOUR_NS = 3_600 * 1_000_000_000


@dataclass
class SlotStatus:
    """One deployment slot as the cockpit shows it."""

    slot: str
    symbol: str
    agent_id: str | None = None
    task_id: str | None = None
    attempts: int = 0
    last_seed: int | None = None
    last_outcome: str = ""
    last_reason: str = ""
    retry_at_ns: int = 0  # monotonic; 0 = no back-off


@dataclass(frozen=True)
class _Commission:
    slot: str
    symbol: str
    replaces: str | None


class Singularity:
    """Component: the deployment's slots, filled by forge tasks."""

    name = "singularity"

    def __init__(
        self,
        config: CrucibleConfig,
        clock: Clock,
        supervisor: TaskSupervisor,
        arena: Arena,
        forge: ForgeSupervisor,
        history: TrainingHistory,
        *,
        entrypoint: str = DEFAULT_ENTRYPOINT,
    ) -> None:
        self._config = config
        self._cfg = config.deployment
        self._clock = clock
        self._supervisor = supervisor
        self._arena = arena
        self._forge = forge
        self.history = history
        self._entrypoint = entrypoint  # the forge job's entry point (tests use stub workers)
        self.watchtower: Watchtower | None = None
        self.slots: dict[str, SlotStatus] = {}
        self._tasks: dict[str, _Commission] = {}  # task id -> what it was commissioned for
        self._reaped: dict[str, str] = {}  # slot -> the agent the Watchtower reaped from it
        self._departed: dict[str, str] = {}  # slot -> the agent that last left it
        self._wake = asyncio.Event()
        for symbol, count in self._cfg.agents.items():
            for i in range(count):
                slot = f"{symbol}#{i}"
                self.slots[slot] = SlotStatus(slot, symbol)

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._cfg.enabled and self.slots:
            self._supervisor.spawn("singularity:loop", self._loop())

    async def stop(self) -> None:
        self.history.stop()

    def wake(self) -> None:
        """Look at the slots now (an agent left, a task ended)."""
        self._wake.set()

    def request_replacement(self, symbol: str, agent_id: str) -> None:
        """The Watchtower reaped ``agent_id``: its slot is empty, fill it."""
        self._assign_agents()
        held = [
            s for s in self.slots.values() if agent_id in (s.agent_id, self._departed.get(s.slot))
        ]
        if not held:  # reaped before the Singularity first looked: it takes a free slot
            held = [
                s
                for s in self.slots.values()
                if s.symbol == symbol and s.agent_id is None and s.slot not in self._reaped
            ][:1]
        for status in held:
            self._reaped[status.slot] = agent_id
            status.agent_id = None
        log.info("singularity: %s left %s; commissioning a replacement", agent_id, symbol)
        self.wake()

    async def _loop(self) -> None:
        self._assign_agents()  # the agents loaded at start hold their slots from the outset
        try:
            await self.history.ensure()
        except (CrucibleError, OSError) as exc:
            log.error("no training history for the forge (%s); retrying on the next check", exc)
        while True:
            self._wake.clear()
            try:
                await self.fill()
            except (CrucibleError, OSError) as exc:
                log.error("singularity could not fill the deployment: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._cfg.check_interval_s)

    # -- filling ---------------------------------------------------------------
    async def fill(self) -> list[str]:
        """Commission what the deployment lacks; return the new task ids."""
        self._assign_agents()
        wanted = [c for c in self._plan() if self._due(c.slot)]
        if wanted:
            await self.history.ensure()
        started = []
        for commission in wanted:
            try:
                started.append(self.commission(commission))
            except TemporaryError as exc:  # the forge queue is full: the next check retries
                log.info("singularity: %s", exc)
                break
        return started

    def current_slots(self) -> list[SlotStatus]:
        """The slots as they stand now (an agent that left no longer fills its slot)."""
        self._assign_agents()
        return list(self.slots.values())

    def _assign_agents(self) -> None:
        """Which live agent sits in which slot (an agent without a slot takes a free one)."""
        for slot in self.slots.values():
            if slot.agent_id is not None and slot.agent_id not in self._arena.agents:
                self._departed[slot.slot], slot.agent_id = slot.agent_id, None
        placed = {s.agent_id for s in self.slots.values() if s.agent_id}
        for agent in sorted(self._arena.agents.values(), key=lambda a: a.id):
            if agent.id in placed:
                continue
            wanted = self.slots.get(str(agent.bundle.metadata.get("slot") or ""))
            if wanted is None or wanted.agent_id is not None or wanted.symbol != agent.symbol:
                wanted = next(
                    (
                        s
                        for s in self.slots.values()
                        if s.symbol == agent.symbol and s.agent_id is None
                    ),
                    None,
                )
            if wanted is not None:
                wanted.agent_id = agent.id
                placed.add(agent.id)
                self._replaced(wanted.slot, agent.id)

    def _replaced(self, slot: str, agent_id: str) -> None:
        """``agent_id`` now fills ``slot``: if the Watchtower reaped its last agent, log it."""
        reaped = self._reaped.pop(slot, None)
        if reaped is not None and self.watchtower is not None:
            self.watchtower.record_replacement(reaped, self.slots[slot].symbol, agent_id)

    def _plan(self) -> list[_Commission]:
        out = []
        now = self._clock.timestamp_ns()
        max_age_ns = int(self._cfg.max_age_hours * _HOUR_NS)
        for status in self.slots.values():
            if status.task_id is not None:
                continue
            if status.agent_id is None:
                out.append(_Commission(status.slot, status.symbol, None))
                continue
            agent = self._arena.agents[status.agent_id]
            created = int(agent.bundle.metadata.get("created_ns", 0) or 0)
            if created and now - created > max_age_ns:
                out.append(_Commission(status.slot, status.symbol, agent.id))
        return out

    def _due(self, slot: str) -> bool:
        status = self.slots[slot]
        return status.retry_at_ns <= self._clock.monotonic_ns()

    def commission(self, commission: _Commission) -> str:
        """Submit one forge task for a slot (a new seed for every attempt)."""
        status = self.slots[commission.slot]
        seed = self._config.forge.seed + zlib.crc32(commission.slot.encode()) % 10_000
        task = ForgeTask(
            commission.symbol,
            commission.slot,
            budget=self._cfg.budget,
            replaces=commission.replaces,
            seed=seed + 100_000 * status.attempts,
        )
        task_id = self._forge.submit(task, entrypoint=self._entrypoint)
        status.task_id, status.last_seed = task_id, task.seed
        status.attempts += 1
        self._tasks[task_id] = commission
        self._supervisor.spawn(f"singularity:{task_id}", self._follow(task_id))
        why = f"to replace {commission.replaces}" if commission.replaces else "for an empty slot"
        log.info("singularity: forge task %s for %s %s", task_id, commission.slot, why)
        return task_id

    def forge_for(self, symbol: str, replaces: str | None = None) -> str:
        """An operator's forge request: a task for ``symbol`` (into a free slot if there is one)."""
        self._assign_agents()
        free = [s for s in self.slots.values() if s.symbol == symbol and s.task_id is None]
        slot = next((s.slot for s in free if s.agent_id is None), None)
        if slot is None:
            slot = f"{symbol}#manual{len(self._tasks)}"
            self.slots[slot] = SlotStatus(slot, symbol)
        return self.commission(_Commission(slot, symbol, replaces))

    async def _follow(self, task_id: str) -> None:
        outcome = await self._forge.wait(task_id)
        await self._on_outcome(task_id, outcome)

    async def _on_outcome(self, task_id: str, outcome: ForgeOutcome) -> None:
        commission = self._tasks.pop(task_id)
        status = self.slots[commission.slot]
        status.last_outcome, status.last_reason = outcome.status, outcome.reason
        if outcome.status == "registered" and outcome.agent_id is not None:
            try:  # the slot stays busy while its agent joins: no second task for it meanwhile
                agent = await self._arena.add(self._arena.models_dir / outcome.agent_id)
            finally:
                status.task_id = None
            if agent is not None:
                status.agent_id, status.attempts, status.retry_at_ns = agent.id, 0, 0
                if commission.replaces is not None:
                    await self._retire(commission.replaces, agent.id, commission.symbol)
                self._replaced(commission.slot, agent.id)
                self.wake()
                return
            status.last_outcome = "failed"
            status.last_reason = f"{outcome.agent_id} registered but could not join the arena"
        status.task_id = None
        delay = min(
            self._cfg.retry_backoff_s * 2 ** max(status.attempts - 1, 0), self._cfg.max_backoff_s
        )
        status.retry_at_ns = self._clock.monotonic_ns() + int(delay * 1e9)
        log.warning(
            "singularity: slot %s task %s %s (%s); retrying with a new seed in %.0f s",
            commission.slot, task_id, status.last_outcome, status.last_reason, delay,
        )  # fmt: skip

    async def _retire(self, old: str, new: str, symbol: str) -> None:
        if old in self._arena.agents:
            try:
                await self._arena.remove(old, f"replaced by {new} (aged)", archive=True)
            except (CrucibleError, TimeoutError) as exc:
                log.error("could not retire %s after %s joined: %s", old, new, exc)
                return
        if self.watchtower is not None:
            self.watchtower.record_replacement(old, symbol, new)
