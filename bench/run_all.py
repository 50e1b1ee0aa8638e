"""Run every `crucible bench NAME` several times and print the median of each figure.

Usage: .venv/bin/python bench/run_all.py [--runs 3] [--quick] [NAME ...]
The last line is one JSON object: {name: {figure: median, ...}, ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRUCIBLE = ROOT / ".venv" / "bin" / "crucible"
DEFAULT = ["link", "cockpit", "features", "signals", "forge", "bus", "headless"]


def run_once(name: str, quick: bool) -> dict[str, object]:
    cmd = [str(CRUCIBLE), "bench", name] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"bench {name} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=DEFAULT)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    summary: dict[str, dict[str, float]] = {}
    for name in args.names:
        runs = []
        for i in range(args.runs):
            result = run_once(name, args.quick)
            print(f"{name} run {i + 1}: {json.dumps(result, sort_keys=True)}", flush=True)
            runs.append(result)
        keys = [
            k for k, v in runs[0].items() if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        summary[name] = {k: statistics.median(float(r[k]) for r in runs) for k in keys}  # type: ignore[arg-type]
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
