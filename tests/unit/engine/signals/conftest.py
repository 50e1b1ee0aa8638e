"""Fixtures for the signal tests: a real bus on a supervisor, and a recorder of signal updates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import SimClock
from engine.core.tasks import TaskSupervisor
from engine.model.events import SignalUpdate


@dataclass
class Recorder:
    updates: list[SignalUpdate] = field(default_factory=list)

    def __call__(self, _topic: str, msg: SignalUpdate) -> None:
        self.updates.append(msg)

    def of(self, name: str, symbol: str | None = None) -> list[SignalUpdate]:
        return [u for u in self.updates if u.name == name and u.symbol == symbol]


@dataclass
class BusKit:
    bus: EventBus
    supervisor: TaskSupervisor
    clock: SimClock
    recorder: Recorder


@pytest.fixture
async def bus_kit() -> AsyncIterator[BusKit]:
    supervisor = TaskSupervisor()
    bus = EventBus(supervisor, md_queue_size=100_000)
    recorder = Recorder()
    bus.subscribe(topics.all_of("signal"), recorder, name="recorder", direct=True)
    yield BusKit(bus, supervisor, SimClock(1_700_000_000_000_000_000), recorder)
    await supervisor.stop()
