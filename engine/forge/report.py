"""Human-readable rendering of a forge outcome (CLI output, logs)."""

from __future__ import annotations

from typing import Any

from engine.forge.task import ForgeOutcome


def _gate_line(g: dict[str, Any]) -> str:
    op = ">=" if g["higher_is_better"] else "<="
    verdict = "pass" if g["passed"] else f"FAIL by {abs(g['margin']):.4g}"
    mark = "ok" if g["passed"] else "XX"
    return f"  {mark} {g['name']:<24} {g['value']:>12.5g}  (needs {op} {g['threshold']:.4g})  {verdict}"


def format_outcome(outcome: ForgeOutcome) -> str:
    """The outcome, the bake-off table and the gauntlet gates as text."""
    r = outcome.report
    lines = [f"Forge {outcome.status.upper()}: {outcome.reason}"]
    if outcome.agent_id:
        lines.append(f"Registered agent: {outcome.agent_id}")
    if "data_range" in r:
        rng = r["data_range"]
        lines.append(
            f"Data: {r.get('symbol')} {rng['start']} .. {rng['end']} ({r.get('bars')} bars)"
        )
    if r.get("bake_off"):
        lines.append("Bake-off on validation (annualized Sharpe, trades):")
        for e in r["bake_off"]:
            flag = "" if e["eligible"] else "  (too few trades)"
            lines.append(f"  {e['name']:<22} {e['sharpe']:>9.3f} {e['trades']:>6}{flag}")
    gauntlet = r.get("gauntlet")
    if gauntlet:
        lines.append(
            f"Gauntlet on the holdout ({r.get('winner')}): {'PASSED' if gauntlet['passed'] else 'REJECTED'}"
        )
        lines += [_gate_line(g) for g in gauntlet["gates"]]
        lines += [f"  {k} = {v:.6g}" for k, v in sorted(gauntlet["metrics"].items())]
    if r.get("timings_s"):
        lines.append("Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items()))
    return "\n".join(lines)
