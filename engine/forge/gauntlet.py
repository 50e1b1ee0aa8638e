"""The Gauntlet: statistics a candidate must survive on data it never saw.

* walk-forward out-of-sample folds (rolling re-fits, results aggregated),
* the deflated Sharpe ratio for the number of candidates tried
  (Bailey & López de Prado 2014),
* a Monte Carlo of trade-order shuffles for the drawdown distribution,
* a permutation test against random entries with the same trade count and
  holding times,
* minimum trade count and maximum drawdown.

Every gate reports its value, threshold and margin, so a rejection says which
gate failed and by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from engine.forge.backtest import BacktestResult, max_drawdown, pnl_from_held, sharpe_ratio
from engine.forge.config import GatesConfig

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate: ``value`` compared with ``threshold`` (``>=`` or ``<=``)."""

    name: str
    value: float
    threshold: float
    higher_is_better: bool
    passed: bool

    @property
    def margin(self) -> float:
        """How far inside (positive) or outside (negative) the threshold the value is."""
        if not np.isfinite(self.value):
            return float("-inf")
        return self.value - self.threshold if self.higher_is_better else self.threshold - self.value

    def describe(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        verdict = "pass" if self.passed else f"FAIL by {abs(self.margin):.4g}"
        return f"{self.name}: {self.value:.4g} (needs {op} {self.threshold:.4g}) {verdict}"


def gate(name: str, value: float, threshold: float, higher_is_better: bool) -> GateResult:
    ok = bool(np.isfinite(value)) and (
        value >= threshold if higher_is_better else value <= threshold
    )
    return GateResult(name, float(value), float(threshold), higher_is_better, ok)


@dataclass(frozen=True, slots=True)
class GauntletReport:
    """Every gate's result plus the figures behind them."""

    gates: tuple[GateResult, ...]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)

    @property
    def reason(self) -> str:
        """Empty when passed; otherwise the failed gates and their margins."""
        return "; ".join(g.describe() for g in self.failed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "gates": [asdict(g) | {"margin": g.margin} for g in self.gates],
            "metrics": dict(self.metrics),
            "reason": self.reason,
        }

    def render(self) -> str:
        lines = ["Gauntlet: " + ("PASSED" if self.passed else "REJECTED")]
        lines += [f"  {'ok ' if g.passed else 'XX '} {g.describe()}" for g in self.gates]
        lines += [f"  {k} = {v:.6g}" for k, v in sorted(self.metrics.items())]
        return "\n".join(lines)


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios under the null of no skill."""
    if n_trials <= 1 or sr_variance <= 0:
        return 0.0
    a = stats.norm.ppf(1.0 - 1.0 / n_trials)
    b = stats.norm.ppf(1.0 - 1.0 / (n_trials * np.e))
    return float(np.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * a + EULER_GAMMA * b))


def deflated_sharpe_ratio(pnl: np.ndarray, n_trials: int, sr_variance: float) -> float:
    """Probability that the true per-bar Sharpe exceeds the best of ``n_trials`` lucky ones.

    ``sr_variance`` is the variance of the per-bar (not annualized) Sharpe
    ratios across the trials; skewness and kurtosis of ``pnl`` widen the test.
    """
    t = pnl.size
    sd = float(np.std(pnl, ddof=1)) if t > 1 else 0.0
    if t < 3 or sd <= 1e-15:
        return 0.0
    sr = float(np.mean(pnl)) / sd
    skew = float(stats.skew(pnl))
    kurt = float(stats.kurtosis(pnl, fisher=False))
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if denom <= 0:
        return 0.0
    return float(stats.norm.cdf((sr - sr0) * np.sqrt(t - 1) / np.sqrt(denom)))


def monte_carlo_drawdowns(
    trade_returns: np.ndarray, runs: int, rng: np.random.Generator
) -> np.ndarray:
    """Max drawdown of the trade sequence under ``runs`` random orderings."""
    if trade_returns.size == 0:
        return np.zeros(runs)
    order = rng.permuted(np.tile(trade_returns, (runs, 1)), axis=1)
    equity = np.cumprod(1.0 + order, axis=1)
    peak = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
    return np.asarray(np.max(1.0 - equity / peak, axis=1))


def random_held(n: int, holding_bars: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A long/flat path with the same holding times, in random order at random places."""
    k = holding_bars.size
    durations = rng.permutation(holding_bars)
    free = n - int(durations.sum()) - max(k - 1, 0)
    if free < 0:
        raise ValueError("holding times do not fit in the series")
    cuts = np.sort(rng.integers(0, free + 1, size=k))
    gaps = np.diff(np.concatenate(([0], cuts, [free])))
    gaps[1:-1] += 1  # trades never touch, so they stay k separate trades
    lengths = np.empty(2 * k + 1, dtype=np.int64)
    lengths[0::2] = gaps
    lengths[1::2] = durations
    values = np.zeros(2 * k + 1)
    values[1::2] = 1.0
    return np.repeat(values, lengths)


def random_entry_test(
    result: BacktestResult,
    returns: np.ndarray,
    cost_per_unit: float,
    runs: int,
    rng: np.random.Generator,
) -> tuple[float, np.ndarray]:
    """p-value of the strategy's log return against random entries with equal trades."""
    actual = float(np.sum(np.log1p(result.pnl)))
    totals = np.empty(runs)
    for i in range(runs):
        held = random_held(returns.size, result.holding_bars, rng)
        totals[i] = np.sum(np.log1p(pnl_from_held(held, returns, cost_per_unit)))
    pvalue = (1.0 + np.count_nonzero(totals >= actual)) / (runs + 1.0)
    return float(pvalue), totals


@dataclass(frozen=True, slots=True)
class GauntletInputs:
    """What the gauntlet judges: the holdout backtest, walk-forward folds and the search size."""

    holdout: BacktestResult
    holdout_returns: np.ndarray
    fold_pnls: Sequence[np.ndarray]
    n_trials: int
    sr_variance: float


def run_gauntlet(
    inputs: GauntletInputs,
    gates: GatesConfig,
    *,
    cost_per_unit: float,
    bars_per_year: float,
    monte_carlo_runs: int,
    random_entry_runs: int,
    seed: int,
) -> GauntletReport:
    """Judge one candidate against every gate."""
    rng = np.random.default_rng(seed)
    h = inputs.holdout
    dsr = deflated_sharpe_ratio(h.pnl, inputs.n_trials, inputs.sr_variance)
    if h.trades:
        pvalue, _ = random_entry_test(
            h, inputs.holdout_returns, cost_per_unit, random_entry_runs, rng
        )
        mc_p95 = float(
            np.percentile(monte_carlo_drawdowns(h.trade_returns, monte_carlo_runs, rng), 95)
        )
    else:
        pvalue, mc_p95 = 1.0, float("nan")
    fold_pnl = np.concatenate(list(inputs.fold_pnls)) if inputs.fold_pnls else np.zeros(0)
    wf_sharpe = sharpe_ratio(fold_pnl, bars_per_year)
    fold_returns = [float(np.expm1(np.sum(np.log1p(p)))) for p in inputs.fold_pnls]
    positive = float(np.mean([r > 0 for r in fold_returns])) if fold_returns else 0.0
    results = (
        gate("min_trades", h.trades, gates.min_trades, True),
        gate("max_drawdown", h.max_drawdown, gates.max_drawdown, False),
        gate("deflated_sharpe", dsr, gates.min_deflated_sharpe, True),
        gate("random_entry_pvalue", pvalue, gates.max_random_entry_pvalue, False),
        gate("mc_drawdown_p95", mc_p95, gates.max_mc_drawdown_p95, False),
        gate("walk_forward_sharpe", wf_sharpe, gates.min_walk_forward_sharpe, True),
        gate("positive_fold_fraction", positive, gates.min_positive_fold_fraction, True),
    )
    metrics = {
        "holdout_sharpe": h.sharpe,
        "holdout_sortino": h.sortino,
        "holdout_total_return": h.total_return,
        "holdout_turnover": h.turnover,
        "holdout_bars": float(h.pnl.size),
        "n_trials": float(inputs.n_trials),
        "sr_variance": inputs.sr_variance,
        "expected_max_sharpe_per_bar": expected_max_sharpe(inputs.n_trials, inputs.sr_variance),
        "walk_forward_folds": float(len(fold_returns)),
        "walk_forward_max_drawdown": max_drawdown(np.cumprod(1.0 + fold_pnl)),
    }
    return GauntletReport(results, metrics)
