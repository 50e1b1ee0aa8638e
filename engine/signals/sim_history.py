"""Run ``cerebellum_core history`` (the simulated venue's fast-forward) for training and tests.

This only drives the real binary; it simulates nothing itself. Output:
``<out>/<BASE>-<QUOTE>_1m.csv`` per symbol and, when asked, simulated L2 as
wire-format JSON lines (read with ``engine.marketdata.replay.read_l2_jsonl``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from engine.config import REPO_ROOT, CrucibleConfig
from engine.core.errors import DataError, OperationalError


@dataclass(frozen=True, slots=True)
class SimHistory:
    bars_dir: Path
    l2_path: Path | None


def cerebellum_binary(config: CrucibleConfig | None = None) -> Path:
    """The binary: $CRUCIBLE_CEREBELLUM_BIN, else ``cerebellum.binary`` (relative to the repo root)."""
    env = os.environ.get("CRUCIBLE_CEREBELLUM_BIN")
    if env:
        return Path(env)
    path = (
        config.cerebellum.binary
        if config
        else Path("cerebellum_core/target/release/cerebellum_core")
    )
    return path if path.is_absolute() else REPO_ROOT / path


def run_sim_history(
    binary: Path,
    out_dir: Path,
    symbols: tuple[str, ...],
    minutes: int,
    seed: int,
    *,
    l2_hz: float | None = None,
    l2_depth: int = 10,
    timeout_s: float = 900.0,
) -> SimHistory:
    """Generate ``minutes`` of simulated history (and L2 at ``l2_hz`` if given) into ``out_dir``."""
    if not binary.is_file():
        raise OperationalError(f"cerebellum_core binary not found at {binary}; run `make setup`")
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(binary),
        "history",
        "--symbols",
        ",".join(symbols),
        "--minutes",
        str(minutes),
        "--seed",
        str(seed),
        "--out",
        str(out_dir),
    ]
    l2_path = None
    if l2_hz is not None:
        l2_path = out_dir / "l2.jsonl"
        cmd += ["--l2-out", str(l2_path), "--l2-hz", str(l2_hz), "--l2-depth", str(l2_depth)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise OperationalError(
            f"cerebellum_core history did not finish in {timeout_s:.0f} s"
        ) from None
    if proc.returncode != 0:
        raise DataError(
            f"cerebellum_core history failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    return SimHistory(out_dir, l2_path)
