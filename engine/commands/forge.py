"""``crucible forge``: run one forge task from the command line and print its report.

The task runs exactly as it does inside the engine: through the ForgeSupervisor
in a spawned worker process with the configured timeout, its progress events
driving a progress bar here.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

BUDGETS = ("small", "default")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "forge", help="evolve, train and validate one agent; register it if it passes"
    )
    p.add_argument("--symbol", required=True, help="symbol to forge for, e.g. BTC/USDT")
    p.add_argument(
        "--budget", choices=BUDGETS, default="small", help="search budget (default small)"
    )
    p.add_argument("--slot", default=None, help="deployment slot name (default <symbol>#cli)")
    p.add_argument("--replaces", default=None, help="agent id this one is meant to replace")
    p.add_argument("--start", default=None, help="first bar to use (ISO time; default: all)")
    p.add_argument("--end", default=None, help="last bar to use (ISO time; default: all)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default forge.seed)")
    p.add_argument("--exchange", default=None, help="bar store exchange (default forge.exchange)")
    p.add_argument(
        "--timeframe",
        default=None,
        help="bar timeframe to forge on, e.g. 5m (default forge.timeframe)",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="seconds (default forge.task_timeout_s)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="also print the outcome as one JSON line")
    p.set_defaults(handler=_cmd_forge)


def _cmd_forge(args: argparse.Namespace, _gui: Any) -> int:
    import asyncio

    from engine.cli import load_cli_config
    from engine.forge.report import format_outcome
    from engine.forge.task import ForgeTask

    config = load_cli_config(args)
    overrides: dict[str, Any] = {}
    if args.exchange:
        overrides["exchange"] = args.exchange
    if args.timeout:
        overrides["task_timeout_s"] = args.timeout
    if overrides:
        config = config.model_copy(update={"forge": config.forge.model_copy(update=overrides)})
    task = ForgeTask(
        symbol=args.symbol.upper(),
        slot=args.slot or f"{args.symbol.upper()}#cli",
        budget=args.budget,
        replaces=args.replaces,
        start=args.start,
        end=args.end,
        seed=args.seed,
        timeframe=args.timeframe,
    )
    outcome = asyncio.run(_run(config, task, progress=not args.no_progress))
    print(format_outcome(outcome))
    if args.json:
        sys.stdout.flush()
        print(json.dumps(outcome.to_dict(), sort_keys=True, default=str))
    return 0 if outcome.status in ("registered", "rejected") else 1


async def _run(config: Any, task: Any, *, progress: bool) -> Any:
    from tqdm import tqdm

    from engine.core import topics
    from engine.core.bus import EventBus
    from engine.core.clock import LiveClock
    from engine.core.tasks import TaskSupervisor
    from engine.forge.supervisor import ForgeSupervisor
    from engine.model.events import ForgeProgress

    tasks = TaskSupervisor()
    bus = EventBus(tasks)
    generations = config.forge.budget(task.budget).generations
    bar = tqdm(total=generations, disable=not progress, unit="gen", desc="QUEUED", file=sys.stderr)

    def on_progress(_topic: str, event: ForgeProgress) -> None:
        bar.set_description(event.stage.value)
        if event.generation and event.generation > bar.n:
            bar.update(event.generation - bar.n)
        if event.best_fitness is not None:
            bar.set_postfix(best=f"{event.best_fitness:.3g}", mean=f"{event.mean_fitness:.3g}")

    bus.subscribe(topics.all_of("forge.progress"), on_progress, direct=True)
    forge = ForgeSupervisor(bus, LiveClock(), config, tasks)
    await forge.start()
    try:
        task_id = forge.submit(task)
        return await forge.wait(task_id)
    finally:
        bar.close()
        await forge.stop()
        await tasks.stop()
