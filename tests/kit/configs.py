"""Config factory for tests: everything under a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import CrucibleConfig, config_with_overrides


def make_config(tmp_path: Path, **overrides: Any) -> CrucibleConfig:
    """Default config with ``paths.root`` at ``tmp_path`` and section overrides merged in."""
    return config_with_overrides({"paths": {"root": str(tmp_path)}, **overrides})
