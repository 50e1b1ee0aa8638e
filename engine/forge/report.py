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
        lines.append("Bake-off on validation (annualized Sharpe, trades; * = member):")
        for e in r["bake_off"]:
            mark = "*" if e.get("member") else " "
            flag = "" if e["eligible"] else "  (too few trades or Sharpe <= 0)"
            lines.append(f" {mark}{e['name']:<22} {e['sharpe']:>9.3f} {e['trades']:>6}{flag}")
    if r.get("selection"):
        lines.append("Forward selection on validation (ensembles tried; + = kept):")
        for step in r["selection"]:
            mark = "+" if step["accepted"] else " "
            name = " + ".join(step["members"])
            lines.append(f" {mark}{name:<44} {step['sharpe']:>9.3f} {step['trades']:>6}")
    for s in r.get("skipped", ()):
        where = s["stage"] if s.get("fold") is None else f"{s['stage']} fold {s['fold']}"
        lines.append(f"Skipped {s['kind']} ({where}): {s['reason']}")
    gauntlet = r.get("gauntlet")
    if gauntlet:
        verdict = "PASSED" if gauntlet["passed"] else "REJECTED"
        lines.append(f"Gauntlet on the holdout (ensemble vote of {r.get('ensemble')}): {verdict}")
        lines += [_gate_line(g) for g in gauntlet["gates"]]
        lines += [f"  {k} = {v:.6g}" for k, v in sorted(gauntlet["metrics"].items())]
    stats = r.get("trade_stats")
    if stats:
        payoff = stats["payoff_ratio"]
        lines.append(
            f"Holdout trades: {stats['trades']}, win rate {stats['win_rate']:.2f}, "
            f"avg win {stats['avg_win']:.4%}, avg loss {stats['avg_loss']:.4%}, payoff "
            f"{'n/a' if payoff is None else f'{payoff:.2f}'}, held bars median"
            f" {stats['holding_bars_median']:g} / p90 {stats['holding_bars_p90']:g} / max"
            f" {stats['holding_bars_max']}"
        )
    if r.get("timings_s"):
        lines.append("Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items()))
    return "\n".join(lines)
