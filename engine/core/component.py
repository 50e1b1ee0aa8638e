"""Component lifecycle: a small protocol every engine part implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from engine.model.enums import EngineState

# Legal lifecycle edges (one table; anything else is a programming error).
ENGINE_TRANSITIONS: dict[EngineState, frozenset[EngineState]] = {
    EngineState.INITIALIZED: frozenset({EngineState.STARTING, EngineState.STOPPED}),
    EngineState.STARTING: frozenset(
        {EngineState.RUNNING, EngineState.FAILED, EngineState.STOPPING}
    ),
    EngineState.RUNNING: frozenset({EngineState.STOPPING}),
    # A failed start still goes through STOPPING so that whatever did start is torn down.
    EngineState.FAILED: frozenset({EngineState.STOPPING}),
    EngineState.STOPPING: frozenset({EngineState.STOPPED}),
    EngineState.STOPPED: frozenset(),
}


@runtime_checkable
class Component(Protocol):
    """A part of the engine with an async start/stop (stop must be idempotent)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
