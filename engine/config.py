"""One typed configuration, loaded from TOML.

``load_config(path)`` reads ``resources/crucible.toml`` (the defaults) and
deep-merges the user's file over it, so a user file holds only what it changes.
Any problem raises ``ConfigError`` with one line naming the field and value.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from engine.agents.config import AgentsConfig
from engine.core.errors import ConfigError
from engine.core.settings import FrozenModel
from engine.features.config import FeaturesConfig
from engine.forge.config import ForgeConfig
from engine.marketdata.config import DataConfig
from engine.signals.config import SignalsConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = REPO_ROOT / "resources" / "crucible.toml"

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,12}/[A-Z0-9]{2,12}$")


class EngineSection(FrozenModel):
    name: str = "crucible"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    status_interval_s: float = Field(default=5.0, gt=0)
    # How long a thread may hold the GIL while another waits for it (Python's default is
    # 5 ms). The engine's loop shares the GIL with the radar, the journal and inference
    # threads; at 5 ms every wait behind one of them delays a bar's decisions by that much.
    gil_switch_interval_ms: float = Field(default=0.5, ge=0.1, le=10.0)


class UniverseConfig(FrozenModel):
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    quote: str = "USDT"

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("the universe needs at least one symbol")
        for s in value:
            if not _SYMBOL_RE.match(s):
                raise ValueError(f"symbol {s!r} is not of the form BASE/QUOTE (e.g. BTC/USDT)")
        if len(set(value)) != len(value):
            raise ValueError("symbols must be unique")
        return value


class DeploymentConfig(FrozenModel):
    """How many agents to keep alive per symbol, and how the Singularity keeps them there."""

    enabled: bool = True
    agents: dict[str, int] = Field(
        default_factory=lambda: {"BTC/USDT": 2, "ETH/USDT": 2, "SOL/USDT": 2}
    )
    budget: str = "small"  # the forge budget of the tasks it commissions
    max_age_hours: float = Field(default=24.0, gt=0)  # older agents get a replacement forged
    check_interval_s: float = Field(default=15.0, gt=0)
    retry_backoff_s: float = Field(default=60.0, gt=0)  # after a rejection; doubles per retry
    max_backoff_s: float = Field(default=900.0, gt=0)
    history_days: int = Field(default=30, ge=3, le=365)  # training history per task
    history_seed: int | None = None  # sim history's seed (default: cerebellum.seed + 1000)

    @field_validator("agents")
    @classmethod
    def _check_counts(cls, value: dict[str, int]) -> dict[str, int]:
        for symbol, n in value.items():
            if n < 0 or n > 64:
                raise ValueError(f"agent count for {symbol} must be 0..64, got {n}")
        return value


class StrategyLimits(FrozenModel):
    """Limits of one strategy (an agent, or the order ticket's ``manual``)."""

    # One symbol: the strategy's position plus its open orders on the order's side.
    max_position_notional: float = Field(default=25_000.0, gt=0)
    max_orders_per_sec: float = Field(default=20.0, gt=0)
    # Realised + unrealised PnL since 00:00 UTC below minus this: the strategy is
    # disabled (exits only) until an operator resumes it.
    daily_loss_limit: float = Field(default=2_500.0, gt=0)


class RiskConfig(FrozenModel):
    max_order_notional: float = Field(default=25_000.0, gt=0)
    # One symbol, every strategy together (net), as in cerebellum_core.
    max_position_notional: float = Field(default=50_000.0, gt=0)
    max_total_exposure: float = Field(default=150_000.0, gt=0)
    collar_bps: float = Field(default=150.0, gt=0, le=5_000)
    # A mark older than this blocks new exposure on its symbol (fail-closed).
    max_mid_age_ms: int = Field(default=5_000, gt=0)
    max_orders_per_sec_total: float = Field(default=100.0, gt=0)
    # Breakers on NAV at mark; a tripped one latches (reduce-only) until `resume`.
    daily_loss_limit: float = Field(default=5_000.0, gt=0)
    max_drawdown_pct: float = Field(default=0.15, gt=0, lt=1)
    starting_nav: float = Field(default=100_000.0, gt=0)
    strategy: StrategyLimits = StrategyLimits()
    strategy_overrides: dict[str, StrategyLimits] = Field(default_factory=dict)

    def limits_for(self, strategy_id: str) -> StrategyLimits:
        """The limits of ``strategy_id``: its override, else the common ones."""
        return self.strategy_overrides.get(strategy_id, self.strategy)

    @property
    def max_strategy_orders_per_sec(self) -> float:
        """The highest per-strategy order rate any strategy is allowed (for the core)."""
        rates = [self.strategy.max_orders_per_sec]
        rates += [o.max_orders_per_sec for o in self.strategy_overrides.values()]
        return max(rates)


class VenueConfig(FrozenModel):
    kind: Literal["sim", "bybit"] = "sim"
    testnet: bool = True

    @property
    def is_paper(self) -> bool:
        return self.kind == "sim" or self.testnet


class CerebellumConfig(FrozenModel):
    binary: Path = Path("cerebellum_core/target/release/cerebellum_core")
    attach: bool = False
    detach_on_exit: bool = False
    cmd_endpoint: str | None = None
    md_endpoint: str | None = None
    seed: int = 7
    startup_timeout_s: float = Field(default=15.0, gt=0)
    command_timeout_ms: int = Field(default=2_000, gt=0)
    heartbeat_interval_ms: int = Field(default=500, gt=0)
    silence_timeout_ms: int = Field(default=2_500, gt=0)
    deadman_timeout_ms: int = Field(default=5_000, gt=0)
    reconnect_backoff_s: float = Field(default=1.0, gt=0)
    # Headless engine only: poll instead of sleeping for up to this long while a reply is due.
    busy_poll_us: int = Field(default=200, ge=0, le=10_000)
    core: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cmd_endpoint", "md_endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(ipc|tcp|inproc)://.+", value):
            raise ValueError(f"endpoint {value!r} must start with ipc://, tcp:// or inproc://")
        return value

    @model_validator(mode="after")
    def _check_timeouts(self) -> CerebellumConfig:
        if self.silence_timeout_ms <= self.heartbeat_interval_ms:
            raise ValueError("silence_timeout_ms must exceed heartbeat_interval_ms")
        return self


class BusConfig(FrozenModel):
    md_queue_size: int = Field(default=2_048, ge=16)


class JournalConfig(FrozenModel):
    batch_max: int = Field(default=512, ge=1)


class PathsConfig(FrozenModel):
    """Where Crucible keeps its files. Relative paths are resolved against ``root``.

    ``root`` defaults to the checkout Crucible runs from, so the journal, the data
    store and the trained models are the same wherever the command is started.
    """

    root: Path = REPO_ROOT
    var_dir: Path = Path("var")
    journal: Path = Path("var/journal.sqlite")
    data_dir: Path = Path("var/data")
    models_dir: Path = Path("models")
    runtime_dir: Path | None = None

    def resolve(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.root / p).resolve()


class WatchtowerConfig(FrozenModel):
    """When an agent is judged, and what gets it reaped (after ``min_trades`` round trips)."""

    enabled: bool = True
    interval_minutes: float = Field(default=5.0, gt=0)
    min_trades: int = Field(default=10, ge=1)
    min_pnl_fraction: float = -0.03  # PnL after fees over the agent's capital
    max_drawdown: float = Field(default=0.10, gt=0, lt=1)  # of its peak equity
    min_sharpe: float = -1.0  # annualised, from its equity samples
    min_hit_rate: float = Field(default=0.25, ge=0, le=1)
    sharpe_window_hours: float = Field(default=24.0, gt=0)


class TimeoutsConfig(FrozenModel):
    stop_s: float = Field(default=5.0, gt=0)
    external_call_s: float = Field(default=10.0, gt=0)


class CockpitConfig(FrozenModel):
    frame_ms: int = Field(default=33, ge=5, le=1000)
    heatmap_columns: int = Field(default=600, ge=50, le=5000)
    heatmap_levels: int = Field(default=400, ge=20, le=2000)
    theme: Literal["dark"] = "dark"


class CrucibleConfig(FrozenModel):
    engine: EngineSection = EngineSection()
    universe: UniverseConfig = UniverseConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    risk: RiskConfig = RiskConfig()
    venue: VenueConfig = VenueConfig()
    cerebellum: CerebellumConfig = CerebellumConfig()
    bus: BusConfig = BusConfig()
    journal: JournalConfig = JournalConfig()
    paths: PathsConfig = PathsConfig()
    timeouts: TimeoutsConfig = TimeoutsConfig()
    cockpit: CockpitConfig = CockpitConfig()
    data: DataConfig = DataConfig()
    features: FeaturesConfig = FeaturesConfig()
    signals: SignalsConfig = SignalsConfig()
    forge: ForgeConfig = ForgeConfig()
    agents: AgentsConfig = AgentsConfig()
    watchtower: WatchtowerConfig = WatchtowerConfig()

    @model_validator(mode="after")
    def _check_deployment_in_universe(self) -> CrucibleConfig:
        unknown = sorted(set(self.deployment.agents) - set(self.universe.symbols))
        if unknown:
            raise ValueError(f"deployment names symbols outside the universe: {unknown}")
        return self


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _format_validation_error(path: Path | None, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc} = {shown}: {msg}")
    where = f" in {path}" if path else ""
    return f"invalid configuration{where}: " + "; ".join(parts)


def config_from_dict(data: dict[str, Any], source: Path | None = None) -> CrucibleConfig:
    """Validate a plain dict (already merged with defaults) into a CrucibleConfig."""
    try:
        return CrucibleConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None


def load_config(
    path: str | os.PathLike[str] | None = None, *, root: Path | None = None
) -> CrucibleConfig:
    """Load the default configuration, overlaid with ``path`` if given.

    ``paths.root`` defaults to the repository (or ``root``); relative paths in the
    file resolve against it.
    """
    data = _read_toml(DEFAULT_CONFIG_PATH)
    user_path = Path(path) if path is not None else None
    if user_path is not None:
        data = _deep_merge(data, _read_toml(user_path))
    paths = dict(data.get("paths", {}))
    paths.setdefault("root", str(root or REPO_ROOT))
    data["paths"] = paths
    return config_from_dict(data, user_path)


def config_with_overrides(overrides: dict[str, Any], *, root: Path | None = None) -> CrucibleConfig:
    """The default configuration with ``overrides`` deep-merged over it (tests, benchmarks)."""
    data = _deep_merge(_read_toml(DEFAULT_CONFIG_PATH), overrides)
    paths = dict(data.get("paths", {}))
    paths.setdefault("root", str(root or REPO_ROOT))
    data["paths"] = paths
    return config_from_dict(data)
