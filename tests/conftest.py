"""Shared fixtures for the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def cerebellum_binary_path() -> Path:
    """Return the release binary of cerebellum_core (built by `make setup`)."""
    env = os.environ.get("CRUCIBLE_CEREBELLUM_BIN")
    if env:
        return Path(env)
    return REPO_ROOT / "cerebellum_core" / "target" / "release" / "cerebellum_core"


@pytest.fixture(scope="session")
def cerebellum_binary() -> Path:
    """The real Rust executor; the suite fails loudly if it was not built."""
    path = cerebellum_binary_path()
    if not path.is_file():
        pytest.fail(f"cerebellum_core binary not found at {path}; run `make setup` first")
    return path


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """../shared/data, or skip with a reason when this checkout has no shared folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared market data not present at {SHARED_DATA}")
    return SHARED_DATA
