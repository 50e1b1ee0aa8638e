"""The code a forge worker process runs: resolve the entry point, run it, report back.

Whatever happens inside, the worker sends exactly one ``("outcome", ForgeOutcome)``
message last; progress goes as ``("progress", ProgressUpdate)`` before it.
The channel is anything with ``put`` (a multiprocessing queue, a Ray queue).
"""

from __future__ import annotations

import importlib
import logging
import os
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from engine.core.errors import CrucibleError
from engine.forge.task import ForgeJob, ForgeOutcome, ProgressUpdate

log = logging.getLogger(__name__)

JobFunction = Callable[[ForgeJob, Callable[[ProgressUpdate], None]], ForgeOutcome]


class Channel(Protocol):
    def put(self, item: Any) -> None: ...


def resolve_entrypoint(spec: str) -> JobFunction:
    """``"package.module:function"`` -> the function (ValueError if malformed)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"entry point {spec!r} is not 'module:function'")
    func = getattr(importlib.import_module(module_name), attr)
    if not callable(func):
        raise ValueError(f"entry point {spec!r} is not callable")
    return func  # type: ignore[no-any-return]


def run_job(job: ForgeJob, channel: Channel) -> ForgeOutcome:
    """Run ``job`` and turn every failure into a ``failed`` outcome (never raises)."""
    try:
        func = resolve_entrypoint(job.entrypoint)
        outcome = func(job, lambda update: channel.put(("progress", update)))
        if not isinstance(outcome, ForgeOutcome):
            outcome = ForgeOutcome(
                "failed", f"forge job returned {type(outcome).__name__}, not an outcome"
            )
    except CrucibleError as exc:
        outcome = ForgeOutcome("failed", f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        outcome = ForgeOutcome(
            "failed", f"{type(exc).__name__}: {exc}", report={"traceback": traceback.format_exc()}
        )
    return outcome


def worker_main(job: ForgeJob, channel: Channel, own_process_group: bool = True) -> None:
    """Process target. With ``own_process_group`` the worker leads a new process group,
    so a timeout can kill it together with any pool it started."""
    if own_process_group and hasattr(os, "setpgrp"):
        os.setpgrp()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s forge-worker %(levelname)s %(message)s"
    )
    outcome = run_job(job, channel)
    channel.put(("outcome", outcome))
