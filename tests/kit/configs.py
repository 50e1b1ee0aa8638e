"""Config factory for tests: everything under a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.bench.soak import FAST_SIM as SOAK_FAST_SIM
from engine.config import CrucibleConfig, config_with_overrides

# Tests that are not about the living population do not grow one: no forge tasks, no
# sim history, no reaping in the background (a test asks for them explicitly).
QUIET_POPULATION: dict[str, Any] = {
    "deployment": {"enabled": False},
    "watchtower": {"enabled": False},
}


def make_config(tmp_path: Path, **overrides: Any) -> CrucibleConfig:
    """Default config with ``paths.root`` at ``tmp_path`` and section overrides merged in."""
    sections = {**QUIET_POPULATION, **overrides}
    return config_with_overrides({"paths": {"root": str(tmp_path)}, **sections})


# The sim in fast-forward for tests that need many bars (several hundred times real time).
FAST_SIM: dict[str, Any] = SOAK_FAST_SIM
