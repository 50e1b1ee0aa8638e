"""``crucible bench NAME``: benchmarks that print one JSON object as their last line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

# name -> module with run(args) -> dict; modules live in bench/ style packages under engine.bench
BENCHMARKS: dict[str, str] = {
    "bus": "engine.bench.bus",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="run a benchmark; the last output line is one JSON object")
    p.add_argument("name", choices=sorted(BENCHMARKS), help="which benchmark")
    p.add_argument("--quick", action="store_true", help="smaller run (for smoke tests)")
    p.set_defaults(handler=_cmd_bench)


def _cmd_bench(args: argparse.Namespace, _gui: Any) -> int:
    module = importlib.import_module(BENCHMARKS[args.name])
    result: dict[str, Any] = module.run(args)
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=True))
    return 0
