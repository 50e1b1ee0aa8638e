"""The ``crucible`` command line (headless part).

``crucible`` itself is ``cockpit.cli:main``, which adds the GUI runner for
``crucible run``; everything else lives here so the engine works without Qt.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

from engine import __version__
from engine.config import CrucibleConfig, load_config
from engine.core import busy_poll
from engine.core.errors import ConfigError, CrucibleError
from engine.logs import setup_logging

log = logging.getLogger("crucible")

GuiRunner = Callable[[CrucibleConfig, argparse.Namespace], int]


def _subcommand_modules() -> list[str]:
    """Every module in engine/commands: each has register(subparsers) and imports
    its heavy dependencies only when it runs."""
    import engine.commands as pkg

    return sorted(f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crucible",
        description="Crucible: a desktop trading cockpit with an evolving population of agents.",
    )
    parser.add_argument("--version", action="version", version=f"crucible {__version__}")
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML file merged over resources/crucible.toml"
    )
    parser.add_argument("--log-level", default=None, help="override engine.log_level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run Crucible (the cockpit window, or --headless)")
    run.add_argument("--headless", action="store_true", help="run the engine without a window")
    run.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="configuration file")
    run.set_defaults(handler=_cmd_run)

    for module_name in _subcommand_modules():
        importlib.import_module(module_name).register(sub)
    return parser


def load_cli_config(args: argparse.Namespace) -> CrucibleConfig:
    return load_config(getattr(args, "config", None))


def _cmd_run(args: argparse.Namespace, gui_runner: GuiRunner | None) -> int:
    config = load_cli_config(args)
    setup_logging(args.log_level or config.engine.log_level)
    if not args.headless:
        if gui_runner is None:
            print("crucible: the cockpit is not available here; use --headless", file=sys.stderr)
            return 2
        return gui_runner(config, args)
    return busy_poll.run(run_headless(config))


async def run_headless(config: CrucibleConfig) -> int:
    """Run the engine without a window until SIGINT/SIGTERM."""
    from engine.assembly import build_engine

    engine = build_engine(config)
    await engine.run_until_signal()
    return 0


def main(argv: list[str] | None = None, *, gui_runner: GuiRunner | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args, gui_runner))
    except ConfigError as exc:
        print(f"crucible: {exc}", file=sys.stderr)
        return 2
    except CrucibleError as exc:
        print(f"crucible: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
