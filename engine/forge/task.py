"""Forge task messages: what a worker is asked to do, what it reports, what it returns.

All plain frozen dataclasses of JSON-able fields, so they cross a spawn
boundary or a Ray call as simple data.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from engine.model.enums import ForgeStage

DEFAULT_ENTRYPOINT = "engine.forge.pipeline:run_forge_job"
OutcomeStatus = Literal["registered", "rejected", "failed", "timed_out", "cancelled"]


def new_task_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True, slots=True)
class ForgeTask:
    """One request: forge an agent for ``symbol`` into ``slot`` (or to replace an agent).

    ``start``/``end`` are ISO timestamps bounding the bars used (None: all);
    ``timeframe`` is the bar timeframe to forge on (None: ``forge.timeframe``).
    """

    symbol: str
    slot: str
    budget: str = "small"
    replaces: str | None = None
    start: str | None = None
    end: str | None = None
    seed: int | None = None
    task_id: str = field(default_factory=new_task_id)
    timeframe: str | None = None


@dataclass(frozen=True, slots=True)
class ForgeJob:
    """A task plus everything a worker process needs to run it without the engine."""

    task: ForgeTask
    bars_root: str
    models_dir: str
    forge: dict[str, Any]
    features: dict[str, Any]
    exchange: str
    created_ns: int
    entrypoint: str = DEFAULT_ENTRYPOINT


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """A worker's progress report (becomes a ForgeProgress event on the bus)."""

    stage: ForgeStage
    generation: int = 0
    generations: int = 0
    best_fitness: float | None = None
    mean_fitness: float | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ForgeOutcome:
    """The result of one task: a registered agent or the reason there is none."""

    status: OutcomeStatus
    reason: str = ""
    agent_id: str | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
