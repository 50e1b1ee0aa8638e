//! Core configuration: JSON, every field defaulted, unknown fields refused.
//!
//! `cerebellum_core print-default-config` prints [`Config::default`]. Errors
//! name the offending field by its path (`sim.symbols[1].tick_size`).

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use crate::{error::ConfigError, types::Instrument};

/// Longest simulated backfill before `serve` starts (three days; `Bars` keeps
/// the last 3000 minutes, `crate::venue::MAX_BARS`).
pub const MAX_BACKFILL_MINUTES: u64 = 4320;

/// The whole core configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// ROUTER endpoint for commands and reports.
    pub cmd_endpoint: String,
    /// PUB endpoint for market data.
    pub md_endpoint: String,
    /// Which venue the core trades on.
    pub venue: VenueKind,
    /// Wire session settings.
    pub session: SessionConfig,
    /// Simulated venue.
    pub sim: SimConfig,
    /// Pre-trade risk limits.
    pub risk: RiskConfig,
    /// Bybit adapter settings.
    pub bybit: BybitConfig,
}

/// Venue selection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum VenueKind {
    /// The embedded simulator.
    #[default]
    Sim,
    /// Bybit v5 (live or testnet).
    Bybit,
}

/// Wire session settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Interval the engine is expected to heartbeat at (the core logs a warning
    /// after four missed intervals; the dead-man's switch has its own timeout).
    pub heartbeat_interval_ms: u64,
    /// Dead-man's switch timeout.
    pub deadman_timeout_ms: u64,
    /// Number of journaled reports kept for `ReplayReports`.
    pub journal_capacity: usize,
    /// Largest accepted command frame.
    pub max_frame_bytes: usize,
    /// CURVE server secret key (Z85, 40 chars); required for non-loopback TCP
    /// endpoints. `CRUCIBLE_CURVE_SECRET_KEY` overrides it.
    pub curve_secret_key: Option<String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval_ms: 500,
            deadman_timeout_ms: 5000,
            journal_capacity: 100_000,
            max_frame_bytes: 65_536,
            curve_secret_key: None,
        }
    }
}

/// Simulator run mode.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SimMode {
    /// Simulated time follows the wall clock.
    #[default]
    Realtime,
    /// Simulated time runs as fast as the CPU allows.
    Fastforward,
}

impl SimMode {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Realtime => "realtime",
            Self::Fastforward => "fastforward",
        }
    }
}

/// The simulated venue.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// RNG seed: same seed, same market.
    pub seed: u64,
    /// Realtime or fast-forward.
    pub mode: SimMode,
    /// Book snapshots per second per symbol (0 disables them).
    pub book_hz: f64,
    /// Levels per side in a snapshot.
    pub book_depth: usize,
    /// One-way latency of agent orders and cancels.
    pub latency_us: u64,
    /// Maker fee in basis points of notional (negative = rebate).
    pub maker_fee_bps: f64,
    /// Taker fee in basis points of notional.
    pub taker_fee_bps: f64,
    /// Starting USDT cash balance.
    pub initial_balance: f64,
    /// Simulated seconds run before t=0 to fill the books.
    pub warmup_s: f64,
    /// Simulated seconds advanced per loop turn in fast-forward serve mode.
    pub fastforward_chunk_ms: u64,
    /// Order-flow rate scale used by the `history` command and the serve
    /// backfill (1.0 = serve rates).
    pub history_flow_scale: f64,
    /// Simulated minutes run fast-forward (at `history_flow_scale`) before
    /// real time starts in `serve`, so that `Bars` has recent history at once.
    /// The default, 2600, covers the engine's default feature warm-up (about
    /// 2,220 one-minute bars) plus the 300 rows its agents keep.
    pub backfill_minutes: u64,
    /// Latent market model (regimes, volatility, cross-asset factor).
    pub model: ModelConfig,
    /// Traded symbols.
    pub symbols: Vec<SymbolConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            mode: SimMode::Realtime,
            book_hz: 10.0,
            book_depth: 50,
            latency_us: 0,
            maker_fee_bps: 2.0,
            taker_fee_bps: 5.5,
            initial_balance: 100_000.0,
            warmup_s: 120.0,
            fastforward_chunk_ms: 100,
            history_flow_scale: 0.05,
            backfill_minutes: 2600,
            model: ModelConfig::default(),
            symbols: vec![
                SymbolConfig::btc(),
                SymbolConfig::eth(),
                SymbolConfig::sol(),
            ],
        }
    }
}

/// Parameters of one latent regime.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegimeParams {
    /// Multiplier of the common factor's volatility.
    pub vol_mult: f64,
    /// Multiplier of order-flow rates.
    pub activity: f64,
    /// Drift in bps per minute (`trending` draws a random sign per episode).
    pub drift_bps_per_min: f64,
    /// Mean time spent in the regime per visit.
    pub mean_duration_min: f64,
    /// Jumps of the common factor per hour.
    pub jump_rate_per_hour: f64,
    /// Mean absolute jump size in bps (Laplace).
    pub jump_size_bps: f64,
    /// Probability that a jump is downwards.
    pub jump_down_prob: f64,
    /// Probabilities of the next regime [calm, trending, volatile, crash] when leaving.
    pub next: [f64; 4],
}

impl Default for RegimeParams {
    fn default() -> Self {
        Self {
            vol_mult: 1.0,
            activity: 1.0,
            // Offsets the expected loss of the crash regime so that prices do not
            // decline systematically over long histories.
            drift_bps_per_min: 0.07,
            mean_duration_min: 240.0,
            jump_rate_per_hour: 0.5,
            jump_size_bps: 8.0,
            jump_down_prob: 0.5,
            next: [0.0, 0.5, 0.45, 0.05],
        }
    }
}

/// The four latent regimes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegimeSet {
    /// Quiet market.
    pub calm: RegimeParams,
    /// Directional drift.
    pub trending: RegimeParams,
    /// High volatility, no direction.
    pub volatile: RegimeParams,
    /// Very high volatility, downward drift and jumps.
    pub crash: RegimeParams,
}

impl Default for RegimeSet {
    fn default() -> Self {
        Self {
            calm: RegimeParams::default(),
            trending: RegimeParams {
                vol_mult: 1.4,
                activity: 1.3,
                drift_bps_per_min: 0.8,
                mean_duration_min: 120.0,
                jump_rate_per_hour: 1.0,
                jump_size_bps: 10.0,
                jump_down_prob: 0.5,
                next: [0.5, 0.0, 0.4, 0.1],
            },
            volatile: RegimeParams {
                vol_mult: 2.5,
                activity: 2.0,
                drift_bps_per_min: 0.0,
                mean_duration_min: 90.0,
                jump_rate_per_hour: 6.0,
                jump_size_bps: 14.0,
                jump_down_prob: 0.5,
                next: [0.5, 0.3, 0.0, 0.2],
            },
            crash: RegimeParams {
                vol_mult: 4.0,
                activity: 3.0,
                drift_bps_per_min: -1.0,
                mean_duration_min: 25.0,
                jump_rate_per_hour: 20.0,
                jump_size_bps: 22.0,
                jump_down_prob: 0.55,
                next: [0.3, 0.0, 0.7, 0.0],
            },
        }
    }
}

/// The latent market model shared by all symbols.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Step of the latent process (regime, volatility, fair values).
    pub step_ms: u64,
    /// Volatility of the common factor in the calm regime, bps per 1-minute return.
    pub base_vol_bps_1m: f64,
    /// Slow log-volatility: mean-reversion time.
    pub sv_slow_tau_min: f64,
    /// Slow log-volatility: stationary standard deviation.
    pub sv_slow_sd: f64,
    /// Fast log-volatility: mean-reversion time.
    pub sv_fast_tau_min: f64,
    /// Fast log-volatility: stationary standard deviation.
    pub sv_fast_sd: f64,
    /// How strongly flow rates follow the stochastic volatility (0 = not at all).
    pub activity_vol_elasticity: f64,
    /// Initial regime: calm, trending, volatile or crash.
    pub initial_regime: String,
    /// Regime parameters.
    pub regimes: RegimeSet,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            step_ms: 100,
            base_vol_bps_1m: 4.0,
            sv_slow_tau_min: 240.0,
            sv_slow_sd: 0.25,
            sv_fast_tau_min: 8.0,
            sv_fast_sd: 0.3,
            activity_vol_elasticity: 0.5,
            initial_regime: "calm".to_owned(),
            regimes: RegimeSet::default(),
        }
    }
}

/// One simulated symbol: grid, latent loading and order flow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SymbolConfig {
    /// `BASE/QUOTE`.
    pub symbol: String,
    /// Price grid.
    pub tick_size: f64,
    /// Quantity grid.
    pub lot_size: f64,
    /// Smallest order.
    pub min_qty: f64,
    /// Fair value at t=0.
    pub initial_price: f64,
    /// Loading on the common factor.
    pub beta: f64,
    /// Delay with which the symbol follows the common factor (0 = leader).
    pub lag_s: f64,
    /// Time constant of the exponential smoothing applied after the delay.
    pub lag_smoothing_s: f64,
    /// Share of the factor move taken instantly (the rest follows with `lag_s`).
    pub instant_share: f64,
    /// Idiosyncratic volatility in the calm regime, bps per 1-minute return.
    pub idio_vol_bps_1m: f64,
    /// Order flow.
    pub flow: FlowConfig,
}

impl Default for SymbolConfig {
    fn default() -> Self {
        Self::btc()
    }
}

impl SymbolConfig {
    /// BTC/USDT, the leader.
    pub fn btc() -> Self {
        Self {
            symbol: "BTC/USDT".to_owned(),
            tick_size: 0.5,
            lot_size: 0.0001,
            min_qty: 0.0001,
            initial_price: 60_000.0,
            beta: 1.0,
            lag_s: 0.0,
            lag_smoothing_s: 0.0,
            instant_share: 1.0,
            idio_vol_bps_1m: 1.0,
            flow: FlowConfig {
                order_size_median: 0.05,
                market_size_median: 0.08,
                arb_margin_ticks: 3.0,
                ..FlowConfig::default()
            },
        }
    }

    /// ETH/USDT, follows BTC.
    pub fn eth() -> Self {
        Self {
            symbol: "ETH/USDT".to_owned(),
            tick_size: 0.05,
            lot_size: 0.001,
            min_qty: 0.001,
            initial_price: 3_000.0,
            beta: 1.1,
            lag_s: 75.0,
            lag_smoothing_s: 3.0,
            instant_share: 0.25,
            idio_vol_bps_1m: 2.5,
            flow: FlowConfig {
                order_size_median: 1.0,
                market_size_median: 1.6,
                arb_margin_ticks: 2.0,
                ..FlowConfig::default()
            },
        }
    }

    /// SOL/USDT, follows BTC with a longer lag.
    pub fn sol() -> Self {
        Self {
            symbol: "SOL/USDT".to_owned(),
            tick_size: 0.01,
            lot_size: 0.01,
            min_qty: 0.01,
            initial_price: 150.0,
            beta: 1.3,
            lag_s: 100.0,
            lag_smoothing_s: 3.0,
            instant_share: 0.1,
            idio_vol_bps_1m: 4.0,
            flow: FlowConfig {
                order_size_median: 20.0,
                market_size_median: 30.0,
                arb_margin_ticks: 1.0,
                ..FlowConfig::default()
            },
        }
    }
}

/// Background order flow of one symbol (calm-regime rates at scale 1).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Limit order arrivals per second per side.
    pub limit_rate: f64,
    /// Market order arrivals per second (both sides together).
    pub market_rate: f64,
    /// Cancellation rate per resting background order per second.
    pub cancel_rate: f64,
    /// Limit prices are placed from `fair - half_spread_ticks` (bids) and
    /// `fair + half_spread_ticks` (asks) outwards.
    pub half_spread_ticks: f64,
    /// Placement distance d >= 0 in ticks has weight `(d + d0)^-alpha`.
    pub placement_alpha: f64,
    /// Offset `d0` of the placement law.
    pub placement_d0: f64,
    /// Largest placement distance in ticks.
    pub placement_max_ticks: u32,
    /// Width in ticks of the logistic lean of market orders towards fair value.
    pub imbalance_ticks: f64,
    /// Quotes further than this many ticks on the wrong side of fair value are
    /// taken by arbitrageurs at each latent step.
    pub arb_margin_ticks: f64,
    /// Median limit order size in base units (log-normal).
    pub order_size_median: f64,
    /// Log-normal sigma of limit order sizes.
    pub order_size_sigma: f64,
    /// Median market order size in base units (log-normal).
    pub market_size_median: f64,
    /// Log-normal sigma of market order sizes.
    pub market_size_sigma: f64,
    /// Safety cap on resting background orders.
    pub max_resting_orders: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            limit_rate: 30.0,
            market_rate: 4.0,
            cancel_rate: 0.05,
            half_spread_ticks: 0.5,
            placement_alpha: 1.6,
            placement_d0: 3.0,
            placement_max_ticks: 200,
            imbalance_ticks: 2.0,
            arb_margin_ticks: 2.0,
            order_size_median: 0.05,
            order_size_sigma: 0.9,
            market_size_median: 0.08,
            market_size_sigma: 1.1,
            max_resting_orders: 20_000,
        }
    }
}

/// Pre-trade limits (checked in the order of `docs/protocol.md`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Largest order quantity per symbol (symbols absent here are unlimited).
    pub max_order_qty: BTreeMap<String, f64>,
    /// Largest order notional in quote currency.
    pub max_order_notional: f64,
    /// Largest position notional per symbol (net over strategies, plus open
    /// orders on the same side).
    pub max_position_notional: f64,
    /// Largest sum over symbols of absolute position notional.
    pub max_total_exposure: f64,
    /// Limit prices must be within this many bps of mid.
    pub collar_bps: f64,
    /// A mid older than this is stale (`STALE_REFERENCE`).
    pub max_mid_age_ms: u64,
    /// New orders per second per strategy.
    pub max_orders_per_sec_strategy: u32,
    /// New orders per second in total.
    pub max_orders_per_sec_total: u32,
    /// Same order under another id within this window is `DUPLICATE_ORDER` (0 = off).
    pub duplicate_window_ms: u64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        let max_order_qty = [
            ("BTC/USDT", 5.0),
            ("ETH/USDT", 100.0),
            ("SOL/USDT", 2_000.0),
        ]
        .into_iter()
        .map(|(s, q)| (s.to_owned(), q))
        .collect();
        Self {
            max_order_qty,
            max_order_notional: 250_000.0,
            max_position_notional: 500_000.0,
            max_total_exposure: 1_000_000.0,
            collar_bps: 500.0,
            max_mid_age_ms: 5_000,
            max_orders_per_sec_strategy: 20,
            max_orders_per_sec_total: 200,
            duplicate_window_ms: 100,
        }
    }
}

/// Bybit adapter settings (credentials come from the environment, never from here).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BybitConfig {
    /// Use testnet endpoints (`https://api-testnet.bybit.com`) instead of mainnet.
    pub testnet: bool,
    /// `X-BAPI-RECV-WINDOW` in ms.
    pub recv_window_ms: u64,
    /// Override of the REST base URL (https, or http on loopback for tests).
    pub base_url: Option<String>,
    /// Product category; only `linear` (USDT perpetuals) is supported.
    pub category: String,
    /// Settle coin of account-wide calls (open orders, positions).
    pub settle_coin: String,
    /// Traded symbols (`BASE/QUOTE`); tick, lot and minimum quantity come from
    /// `/v5/market/instruments-info` at startup.
    pub symbols: Vec<String>,
    /// How often best bid/ask are read from `/v5/market/tickers` (one request per symbol).
    pub ticker_interval_ms: u64,
    /// How often `/v5/execution/list` is read for fills.
    pub fill_poll_interval_ms: u64,
    /// How often `/v5/order/realtime` is read to notice orders that closed on the venue.
    pub open_orders_interval_ms: u64,
    /// Timeout of one HTTP attempt.
    pub request_timeout_ms: u64,
    /// Budget of one REST call, all retries included.
    pub call_deadline_ms: u64,
    /// Queries (one per second) that must all miss an order whose submit
    /// outcome is unknown before it is reported `REJECTED`.
    pub unknown_order_queries: u32,
}

impl Default for BybitConfig {
    fn default() -> Self {
        Self {
            testnet: true,
            recv_window_ms: 5_000,
            base_url: None,
            category: "linear".to_owned(),
            settle_coin: "USDT".to_owned(),
            symbols: ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            ticker_interval_ms: 1_000,
            fill_poll_interval_ms: 500,
            open_orders_interval_ms: 2_000,
            request_timeout_ms: 10_000,
            call_deadline_ms: 30_000,
            unknown_order_queries: 3,
        }
    }
}

impl BybitConfig {
    /// Checks the Bybit section.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, message: &str| {
            Err(ConfigError::Field {
                path: format!("bybit.{field}"),
                message: message.into(),
            })
        };
        if self.category != "linear" {
            return bad("category", "only \"linear\" is supported");
        }
        if self.symbols.is_empty() || self.symbols.len() > 64 {
            return bad("symbols", "needs 1 to 64 symbols");
        }
        for (i, symbol) in self.symbols.iter().enumerate() {
            if crate::venue::bybit::parse::to_venue_symbol(symbol).is_err() {
                return bad(
                    &format!("symbols[{i}]"),
                    "must be BASE/QUOTE with an uppercase base and quote USDT or USDC",
                );
            }
            if self.symbols[..i].contains(symbol) {
                return bad(&format!("symbols[{i}]"), "is listed twice");
            }
        }
        for (field, value, range) in [
            ("recv_window_ms", self.recv_window_ms, 1..=60_000),
            ("ticker_interval_ms", self.ticker_interval_ms, 100..=60_000),
            (
                "fill_poll_interval_ms",
                self.fill_poll_interval_ms,
                100..=60_000,
            ),
            (
                "open_orders_interval_ms",
                self.open_orders_interval_ms,
                100..=600_000,
            ),
            ("request_timeout_ms", self.request_timeout_ms, 100..=60_000),
            ("call_deadline_ms", self.call_deadline_ms, 100..=120_000),
        ] {
            if !range.contains(&value) {
                return bad(
                    field,
                    &format!("must be within {}..={}", range.start(), range.end()),
                );
            }
        }
        if !(1..=60).contains(&self.unknown_order_queries) {
            return bad("unknown_order_queries", "must be within 1..=60");
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        let dir = default_runtime_dir();
        Self {
            cmd_endpoint: format!("ipc://{dir}/cerebellum-cmd.sock"),
            md_endpoint: format!("ipc://{dir}/cerebellum-md.sock"),
            venue: VenueKind::Sim,
            session: SessionConfig::default(),
            sim: SimConfig::default(),
            risk: RiskConfig::default(),
            bybit: BybitConfig::default(),
        }
    }
}

/// `$XDG_RUNTIME_DIR/crucible` or `/tmp/crucible-<uid>`.
pub fn default_runtime_dir() -> String {
    match std::env::var("XDG_RUNTIME_DIR") {
        Ok(dir) if !dir.is_empty() => format!("{dir}/crucible"),
        _ => format!("/tmp/crucible-{}", current_uid()),
    }
}

fn current_uid() -> u32 {
    // /proc/self/status has "Uid:\t<real>\t<effective>..."; fall back to 0 if unreadable.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|u| u.parse().ok()))
        })
        .unwrap_or(0)
}

impl Config {
    /// Reads and validates a JSON config file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, the field path and the problem.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Io(format!("{}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    /// Parses and validates a JSON config.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field path and the problem.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(|e| {
            let offset = line_col_to_offset(text, e.line(), e.column());
            let path = json_path_at(text, offset);
            ConfigError::Field {
                path,
                message: e.to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values serde cannot (positivity, grids, known regimes).
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |path: String, message: String| Err(ConfigError::Field { path, message });
        if self.session.max_frame_bytes < 256 {
            return bad(
                "session.max_frame_bytes".into(),
                "must be at least 256".into(),
            );
        }
        if self.session.journal_capacity == 0 {
            return bad(
                "session.journal_capacity".into(),
                "must be at least 1".into(),
            );
        }
        if self.session.deadman_timeout_ms == 0 {
            return bad(
                "session.deadman_timeout_ms".into(),
                "must be positive".into(),
            );
        }
        let sim = &self.sim;
        if !(sim.book_hz.is_finite() && (0.0..=1000.0).contains(&sim.book_hz)) {
            return bad("sim.book_hz".into(), "must be within 0..=1000".into());
        }
        if sim.book_depth == 0 || sim.book_depth > 1000 {
            return bad("sim.book_depth".into(), "must be within 1..=1000".into());
        }
        if !(sim.history_flow_scale.is_finite() && sim.history_flow_scale > 0.0) {
            return bad("sim.history_flow_scale".into(), "must be positive".into());
        }
        if sim.backfill_minutes > MAX_BACKFILL_MINUTES {
            return bad(
                "sim.backfill_minutes".into(),
                format!("must be at most {MAX_BACKFILL_MINUTES}"),
            );
        }
        if !(sim.warmup_s.is_finite() && sim.warmup_s >= 0.0) {
            return bad("sim.warmup_s".into(), "must be >= 0".into());
        }
        if sim.fastforward_chunk_ms == 0 {
            return bad("sim.fastforward_chunk_ms".into(), "must be positive".into());
        }
        for (name, value) in [
            ("sim.maker_fee_bps", sim.maker_fee_bps),
            ("sim.taker_fee_bps", sim.taker_fee_bps),
            ("sim.initial_balance", sim.initial_balance),
        ] {
            if !value.is_finite() {
                return bad(name.into(), "must be finite".into());
            }
        }
        self.validate_model()?;
        if sim.symbols.is_empty() {
            return bad("sim.symbols".into(), "needs at least one symbol".into());
        }
        if sim.symbols.len() > usize::from(u16::MAX) {
            return bad("sim.symbols".into(), "too many symbols".into());
        }
        for (i, s) in sim.symbols.iter().enumerate() {
            let p = |f: &str| format!("sim.symbols[{i}].{f}");
            Instrument::new_checked(&s.symbol, s.tick_size, s.lot_size, s.min_qty).map_err(
                |m| ConfigError::Field {
                    path: p("symbol"),
                    message: m,
                },
            )?;
            if sim.symbols[..i].iter().any(|o| o.symbol == s.symbol) {
                return bad(p("symbol"), format!("{} is listed twice", s.symbol));
            }
            for (f, v) in [
                ("initial_price", s.initial_price),
                ("beta", s.beta),
                ("flow.imbalance_ticks", s.flow.imbalance_ticks),
                ("flow.order_size_median", s.flow.order_size_median),
                ("flow.market_size_median", s.flow.market_size_median),
                ("flow.placement_d0", s.flow.placement_d0),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return bad(p(f), "must be positive".into());
                }
            }
            for (f, v) in [
                ("lag_s", s.lag_s),
                ("lag_smoothing_s", s.lag_smoothing_s),
                ("idio_vol_bps_1m", s.idio_vol_bps_1m),
                ("flow.limit_rate", s.flow.limit_rate),
                ("flow.market_rate", s.flow.market_rate),
                ("flow.cancel_rate", s.flow.cancel_rate),
                ("flow.half_spread_ticks", s.flow.half_spread_ticks),
                ("flow.placement_alpha", s.flow.placement_alpha),
                ("flow.arb_margin_ticks", s.flow.arb_margin_ticks),
                ("flow.order_size_sigma", s.flow.order_size_sigma),
                ("flow.market_size_sigma", s.flow.market_size_sigma),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return bad(p(f), "must be finite and >= 0".into());
                }
            }
            if s.lag_s > 3600.0 || s.lag_smoothing_s > 3600.0 {
                return bad(
                    p("lag_s"),
                    "lag_s and lag_smoothing_s must be at most 3600".into(),
                );
            }
            if !(0.0..=1.0).contains(&s.instant_share) {
                return bad(p("instant_share"), "must be within 0..=1".into());
            }
            if s.flow.placement_max_ticks == 0 || s.flow.placement_max_ticks > 100_000 {
                return bad(
                    p("flow.placement_max_ticks"),
                    "must be within 1..=100000".into(),
                );
            }
        }
        for (symbol, qty) in &self.risk.max_order_qty {
            if !(qty.is_finite() && *qty > 0.0) {
                return bad(
                    format!("risk.max_order_qty.{symbol}"),
                    "must be positive".into(),
                );
            }
        }
        for (name, value) in [
            ("risk.max_order_notional", self.risk.max_order_notional),
            (
                "risk.max_position_notional",
                self.risk.max_position_notional,
            ),
            ("risk.max_total_exposure", self.risk.max_total_exposure),
            ("risk.collar_bps", self.risk.collar_bps),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return bad(name.into(), "must be positive".into());
            }
        }
        self.bybit.validate()?;
        Ok(())
    }

    fn validate_model(&self) -> Result<(), ConfigError> {
        let m = &self.sim.model;
        let bad = |path: &str, message: &str| {
            Err(ConfigError::Field {
                path: format!("sim.model.{path}"),
                message: message.into(),
            })
        };
        if m.step_ms == 0 || m.step_ms > 60_000 {
            return bad("step_ms", "must be within 1..=60000");
        }
        if crate::venue::sim::regime::Regime::parse(&m.initial_regime).is_none() {
            return bad(
                "initial_regime",
                "must be calm, trending, volatile or crash",
            );
        }
        for (name, v) in [
            ("base_vol_bps_1m", m.base_vol_bps_1m),
            ("sv_slow_tau_min", m.sv_slow_tau_min),
            ("sv_fast_tau_min", m.sv_fast_tau_min),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(name, "must be positive");
            }
        }
        for (name, v) in [
            ("sv_slow_sd", m.sv_slow_sd),
            ("sv_fast_sd", m.sv_fast_sd),
            ("activity_vol_elasticity", m.activity_vol_elasticity),
        ] {
            if !(v.is_finite() && (0.0..=3.0).contains(&v)) {
                return bad(name, "must be within 0..=3");
            }
        }
        let r = &m.regimes;
        for (name, p) in [
            ("calm", &r.calm),
            ("trending", &r.trending),
            ("volatile", &r.volatile),
            ("crash", &r.crash),
        ] {
            let field = |f: &str| format!("regimes.{name}.{f}");
            for (f, v) in [
                ("vol_mult", p.vol_mult),
                ("activity", p.activity),
                ("mean_duration_min", p.mean_duration_min),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return bad(&field(f), "must be positive");
                }
            }
            for (f, v) in [
                ("jump_rate_per_hour", p.jump_rate_per_hour),
                ("jump_size_bps", p.jump_size_bps),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return bad(&field(f), "must be finite and >= 0");
                }
            }
            if !p.drift_bps_per_min.is_finite() {
                return bad(&field("drift_bps_per_min"), "must be finite");
            }
            if !(0.0..=1.0).contains(&p.jump_down_prob) {
                return bad(&field("jump_down_prob"), "must be within 0..=1");
            }
            let total: f64 = p.next.iter().sum();
            if p.next.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || total <= 0.0 {
                return bad(&field("next"), "must be non-negative with a positive sum");
            }
        }
        Ok(())
    }

    /// Builds the instrument list of the simulated venue.
    ///
    /// # Errors
    /// [`ConfigError::Field`] for a bad symbol grid.
    pub fn sim_instruments(&self) -> Result<Vec<Instrument>, ConfigError> {
        self.sim
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Instrument::new_checked(&s.symbol, s.tick_size, s.lot_size, s.min_qty).map_err(
                    |m| ConfigError::Field {
                        path: format!("sim.symbols[{i}].symbol"),
                        message: m,
                    },
                )
            })
            .collect()
    }
}

fn line_col_to_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// Returns the JSON path (`a.b[2].c`) of the value being parsed at `offset`.
///
/// A small tokenizer: it tracks the stack of open objects and arrays, the last
/// key of each object and the element index of each array.
fn json_path_at(text: &str, offset: usize) -> String {
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let mut expecting_key = false;
    while i < end {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expecting_key = true;
            }
            b'[' => {
                stack.push(Frame::Array(0));
                expecting_key = false;
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => expecting_key = true,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if expecting_key {
                    if let Some(Frame::Object(key)) = stack.last_mut() {
                        *key = Some(text.get(start..j.min(text.len())).unwrap_or("").to_owned());
                    }
                    expecting_key = false;
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    if path.is_empty() {
        "<root>".to_owned()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_round_trips_through_json() {
        let config = Config::default();
        let text = serde_json::to_string_pretty(&config).unwrap();
        let back = Config::from_json(&text).unwrap();
        assert_eq!(config, back);
    }

    #[test]
    fn empty_object_gives_defaults() {
        let config = Config::from_json("{}").unwrap();
        assert_eq!(config.sim.symbols.len(), 3);
    }

    #[test]
    fn wrong_type_error_names_the_field_path() {
        let text = r#"{"sim": {"symbols": [{"symbol": "BTC/USDT"}, {"tick_size": "x"}]}}"#;
        let err = Config::from_json(text).unwrap_err().to_string();
        assert!(err.contains("sim.symbols[1].tick_size"), "{err}");
    }

    #[test]
    fn unknown_field_is_refused_by_name() {
        let err = Config::from_json(r#"{"risk": {"collar": 5}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("collar"), "{err}");
    }

    #[test]
    fn bad_value_names_the_field() {
        let err = Config::from_json(r#"{"sim": {"symbols": [{"tick_size": -1}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sim.symbols[0]"), "{err}");
    }
}
