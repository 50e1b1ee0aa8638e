"""``crucible bench NAME``: benchmarks that print one JSON object as their last line."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import sys
from typing import Any

import engine.bench

_EXTRA: dict[str, str] = {}


def register_benchmark(name: str, module: str) -> None:
    """Add a benchmark defined outside the engine (the cockpit registers its own)."""
    _EXTRA[name] = module


def benchmarks() -> dict[str, str]:
    """name -> module: every module in engine/bench plus registered ones (run(args) -> dict)."""
    pkg = engine.bench
    found = {m.name: f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)}
    return {**found, **_EXTRA}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="run a benchmark; the last output line is one JSON object")
    p.add_argument("name", choices=sorted(benchmarks()), help="which benchmark")
    p.add_argument("--quick", action="store_true", help="smaller run (for smoke tests)")
    p.set_defaults(handler=_cmd_bench)


def _cmd_bench(args: argparse.Namespace, _gui: Any) -> int:
    module = importlib.import_module(benchmarks()[args.name])
    result: dict[str, Any] = module.run(args)
    sys.stdout.flush()
    print(json.dumps(_strict(result), sort_keys=True, allow_nan=False))
    return 0


def _strict(result: dict[str, Any]) -> dict[str, Any]:
    """A figure that was not reached (NaN, inf) is null: the line stays valid JSON."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in result.items()
    }
