"""Forge job entry points that misbehave on purpose (run inside spawned workers)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

from engine.forge.task import ForgeJob, ForgeOutcome, ProgressUpdate
from engine.model.enums import ForgeStage

Report = Callable[[ProgressUpdate], None]


def hang(job: ForgeJob, report: Report) -> ForgeOutcome:
    report(ProgressUpdate(ForgeStage.EVOLVING, 1, 10, 0.5, 0.1, f"pid={os.getpid()}"))
    threading.Event().wait()
    return ForgeOutcome("failed", "unreachable")


def hang_ignoring_sigterm(job: ForgeJob, report: Report) -> ForgeOutcome:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return hang(job, report)


def crash(job: ForgeJob, report: Report) -> ForgeOutcome:
    raise RuntimeError("boom inside the forge worker")


def die(job: ForgeJob, report: Report) -> ForgeOutcome:
    os._exit(3)


def evolve_briefly(job: ForgeJob, report: Report) -> ForgeOutcome:
    for gen in range(1, 4):
        report(ProgressUpdate(ForgeStage.EVOLVING, gen, 3, float(gen), gen / 2.0, "stub"))
    return ForgeOutcome("rejected", f"no edge for {job.task.symbol}", report={"generations": 3})
