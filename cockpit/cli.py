"""``crucible``: the engine's command line plus the cockpit window for ``crucible run``.

Qt is imported only when the window is actually opened, so every other
subcommand starts fast and works without a display.
"""

from __future__ import annotations

import argparse
import os
import sys

from engine.cli import main as engine_main
from engine.commands.bench import register_benchmark
from engine.config import CrucibleConfig


def _run_gui(config: CrucibleConfig, args: argparse.Namespace) -> int:
    from cockpit.app import run_cockpit

    return run_cockpit(config)


def _take_bench_flags(argv: list[str]) -> list[str]:
    """``crucible bench cockpit --full``: the engine's bench parser knows only its own
    flags, so the cockpit's own one travels in the environment (cockpit/bench.py reads it)."""
    if "bench" not in argv:
        return argv
    i = argv.index("bench")
    if argv[i + 1 : i + 2] != ["cockpit"] or "--full" not in argv[i + 2 :]:
        return argv
    from cockpit.bench import FULL_ENV

    os.environ[FULL_ENV] = "1"
    return argv[: i + 2] + [a for a in argv[i + 2 :] if a != "--full"]


def main(argv: list[str] | None = None) -> int:
    register_benchmark("cockpit", "cockpit.bench")
    args = _take_bench_flags(list(sys.argv[1:] if argv is None else argv))
    return engine_main(args, gui_runner=_run_gui)


if __name__ == "__main__":
    sys.exit(main())
