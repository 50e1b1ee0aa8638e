"""Configuration section for engine.forge (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.core.errors import DataError
from engine.core.settings import FrozenModel
from engine.marketdata.timeframes import timeframe_ms

YEAR_MS = 365 * 86_400_000  # crypto trades every day


class BudgetConfig(FrozenModel):
    """How much search one forge task may spend."""

    population: int = Field(default=150, ge=4)
    generations: int = Field(default=20, ge=1)
    max_tree_height: int = Field(default=7, ge=3, le=17)
    hall_of_fame: int = Field(default=5, ge=1)
    gbm_rounds: int = Field(default=80, ge=5)
    walk_forward_folds: int = Field(default=3, ge=2)
    monte_carlo_runs: int = Field(default=500, ge=50)
    random_entry_runs: int = Field(default=500, ge=50)


class CostsConfig(FrozenModel):
    """Trading costs charged by the backtester per unit of position traded."""

    maker_fee_bps: float = Field(default=2.0, ge=0)
    taker_fee_bps: float = Field(default=5.5, ge=0)
    slippage_bps: float = Field(default=1.0, ge=0)
    maker_fraction: float = Field(default=0.0, ge=0, le=1)


class LabelsConfig(FrozenModel):
    """Triple-barrier labels: barriers at multiples of the EWM volatility over the horizon.

    The defaults (5 bars, barriers at one volatility-width) match the edge the
    sim offers at 1m: a follower's catch-up on the leader's move plays out
    within two minutes (docs/forge.md, "Choices").
    """

    profit_take: float = Field(default=1.0, gt=0)
    stop_loss: float = Field(default=1.0, gt=0)
    horizon_bars: int = Field(default=5, ge=2)
    vol_span: int = Field(default=120, ge=2)


class SplitConfig(FrozenModel):
    """Chronological train / validation / holdout fractions with an embargo between them."""

    train_fraction: float = Field(default=0.6, gt=0, lt=1)
    validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    embargo_bars: int = Field(default=120, ge=0)

    @model_validator(mode="after")
    def _check_fractions(self) -> SplitConfig:
        if self.train_fraction + self.validation_fraction >= 0.95:
            raise ValueError(
                "train_fraction + validation_fraction must leave >= 5% for the holdout"
            )
        return self


class GatesConfig(FrozenModel):
    """Gauntlet thresholds: a candidate must pass every one to be registered."""

    min_trades: int = Field(default=30, ge=1)
    max_drawdown: float = Field(default=0.20, gt=0, lt=1)
    min_deflated_sharpe: float = Field(default=0.95, ge=0, le=1)
    max_random_entry_pvalue: float = Field(default=0.05, gt=0, le=1)
    max_mc_drawdown_p95: float = Field(default=0.30, gt=0, lt=1)
    min_walk_forward_sharpe: float = Field(default=0.5)
    min_positive_fold_fraction: float = Field(default=0.5, ge=0, le=1)


class BudgetsConfig(FrozenModel):
    """The named budgets ``crucible forge --budget`` accepts."""

    small: BudgetConfig = BudgetConfig()
    default: BudgetConfig = BudgetConfig(
        population=400,
        generations=40,
        hall_of_fame=10,
        gbm_rounds=300,
        walk_forward_folds=4,
        monte_carlo_runs=2000,
        random_entry_runs=2000,
    )


class ForgeConfig(FrozenModel):
    """Settings of engine.forge."""

    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    max_workers: int = Field(default=1, ge=1, le=64)
    max_queue: int = Field(default=8, ge=1)
    task_timeout_s: float = Field(default=1800.0, gt=0)
    kill_grace_s: float = Field(default=5.0, gt=0)
    gp_processes: int = Field(default=1, ge=1, le=64)
    exchange: str = "sim"
    timeframe: str = "1m"
    seed: int = 7
    # Annualisation of Sharpe ratios; None derives it from the timeframe (bars in 365 days).
    bars_per_year: float | None = Field(default=None, gt=0)
    subtree_cache_mb: float = Field(default=128.0, ge=0)
    complexity_penalty: float = Field(default=0.02, ge=0)
    budgets: BudgetsConfig = BudgetsConfig()
    costs: CostsConfig = CostsConfig()
    labels: LabelsConfig = LabelsConfig()
    split: SplitConfig = SplitConfig()
    gates: GatesConfig = GatesConfig()

    @field_validator("timeframe")
    @classmethod
    def _check_timeframe(cls, value: str) -> str:
        try:
            timeframe_ms(value)
        except DataError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def annual_bars(self) -> float:
        """Bars in a year: ``bars_per_year`` when set, else 365 days of ``timeframe`` bars."""
        if self.bars_per_year is not None:
            return self.bars_per_year
        return YEAR_MS / timeframe_ms(self.timeframe)

    def budget(self, name: str) -> BudgetConfig:
        """Return the budget called ``name`` ("small" or "default")."""
        if name not in BudgetsConfig.model_fields:
            raise KeyError(
                f"unknown forge budget {name!r}; known: {sorted(BudgetsConfig.model_fields)}"
            )
        budget: BudgetConfig = getattr(self.budgets, name)
        return budget
