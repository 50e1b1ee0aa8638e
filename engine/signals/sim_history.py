"""Simulated bars and L2 for the signals' training and tests, from the real ``cerebellum_core``.

A thin layer over ``engine.marketdata.simulate.run_history`` that also asks
for L2 (``--l2-out/--l2-hz/--l2-depth``); it simulates nothing itself. The L2
file holds wire-format JSON lines (``engine.marketdata.replay.read_l2_jsonl``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SimHistory:
    bars_dir: Path
    l2_path: Path | None


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
    progress: bool = False,
) -> SimHistory:
    """Write ``minutes`` of simulated 1m bars (and L2 at ``l2_hz`` if given) into ``out_dir``."""
    from engine.marketdata.simulate import run_history

    out_dir.mkdir(parents=True, exist_ok=True)
    l2_path = out_dir / "l2.jsonl" if l2_hz is not None else None
    extra = (
        []
        if l2_path is None
        else ["--l2-out", str(l2_path), "--l2-hz", str(l2_hz), "--l2-depth", str(l2_depth)]
    )
    run_history(
        binary,
        symbols,
        minutes,
        seed,
        out_dir,
        extra_args=extra,
        timeout_s=timeout_s,
        progress=progress,
    )
    return SimHistory(out_dir, l2_path)
