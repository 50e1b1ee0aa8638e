"""``crucible``: the engine's command line plus the cockpit window for ``crucible run``.

Qt is imported only when the window is actually opened, so every other
subcommand starts fast and works without a display.
"""

from __future__ import annotations

import argparse
import sys

from engine.cli import main as engine_main
from engine.commands.bench import register_benchmark
from engine.config import CrucibleConfig


def _run_gui(config: CrucibleConfig, args: argparse.Namespace) -> int:
    from cockpit.app import run_cockpit

    return run_cockpit(config)


def main(argv: list[str] | None = None) -> int:
    register_benchmark("cockpit", "cockpit.bench")
    return engine_main(argv, gui_runner=_run_gui)


if __name__ == "__main__":
    sys.exit(main())
