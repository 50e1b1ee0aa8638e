"""Config factory for tests: everything under a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import (
    DEFAULT_CONFIG_PATH,
    CrucibleConfig,
    _deep_merge,
    _read_toml,
    config_from_dict,
)


def make_config(tmp_path: Path, **overrides: Any) -> CrucibleConfig:
    """Default config with ``paths.root`` at ``tmp_path`` and section overrides merged in."""
    data = _read_toml(DEFAULT_CONFIG_PATH)
    data = _deep_merge(data, {"paths": {"root": str(tmp_path)}})
    data = _deep_merge(data, overrides)
    return config_from_dict(data)
