//! The latent market: a regime Markov chain, stochastic volatility, a common
//! (cross-asset) factor with jumps, and per-symbol fair values that follow the
//! factor with a lag.
//!
//! It runs on a fixed grid of `step_ms` with its own RNG stream, so its path
//! depends only on the seed and the config: not on order flow, agents, flow
//! scale or how often the simulator is polled.
//!
//! Per step of length `dt` (in minutes `dt_min`):
//! * regime `r` changes after an exponential holding time with mean
//!   `mean_duration_min[r]`, to a next regime drawn from `next[r]`;
//! * log-volatility `h = h_slow + h_fast`, two Ornstein–Uhlenbeck processes
//!   (updated every second), normalised so that `E[exp(2h - 2 var h)] = 1`;
//! * common factor `C += drift[r] dt + sigma0 vol_mult[r] exp(h - var h) sqrt(dt_min) Z + jumps`;
//! * for each symbol, `L`: the factor delayed by `lag_s` and smoothed by an
//!   exponential filter of time constant `lag_smoothing_s`; log fair value
//!   `x = beta (w C + (1 - w) L) + I` with `w = instant_share` and `I` an
//!   idiosyncratic random walk scaled by the same regime and volatility
//!   multipliers. A pure delay (rather than a long smoothing filter) keeps the
//!   follower's own returns free of autocorrelation beyond the delay.

use std::collections::VecDeque;

use crate::{
    clock::NS_PER_S,
    config::{ModelConfig, RegimeParams, SymbolConfig},
};

use super::rng::SimRng;

/// Latent regime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Regime {
    /// Quiet.
    Calm,
    /// Drifting.
    Trending,
    /// High volatility.
    Volatile,
    /// Very high volatility, downward.
    Crash,
}

impl Regime {
    /// All regimes in index order.
    pub const ALL: [Self; 4] = [Self::Calm, Self::Trending, Self::Volatile, Self::Crash];

    /// Returns the label used in files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Calm => "calm",
            Self::Trending => "trending",
            Self::Volatile => "volatile",
            Self::Crash => "crash",
        }
    }

    /// Parses a label.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    const fn index(self) -> usize {
        match self {
            Self::Calm => 0,
            Self::Trending => 1,
            Self::Volatile => 2,
            Self::Crash => 3,
        }
    }
}

#[derive(Clone, Debug)]
struct SymbolLatent {
    log_p0_ticks: f64,
    beta: f64,
    instant_share: f64,
    alpha: f64,
    delayed: VecDeque<f64>,
    delay_steps: usize,
    lagged: f64,
    idio: f64,
    idio_sigma_1s: f64,
    fair_ticks: f64,
}

/// Steps between slow updates (stochastic volatility, idiosyncratic walks).
const SLOW_EVERY_S: f64 = 1.0;

/// The latent process shared by all symbols.
#[derive(Clone, Debug)]
pub struct LatentModel {
    rng: SimRng,
    params: [RegimeParams; 4],
    step_ns: i64,
    dt_min: f64,
    regime: Regime,
    steps_left_in_regime: u64,
    steps_to_jump: u64,
    drift_sign: f64,
    h_slow: f64,
    h_fast: f64,
    slow_decay: f64,
    slow_shock: f64,
    fast_decay: f64,
    fast_shock: f64,
    var_h: f64,
    elasticity: f64,
    sigma_step: f64,
    slow_every: u64,
    step_count: u64,
    common: f64,
    vol_scale: f64,
    activity: f64,
    symbols: Vec<SymbolLatent>,
}

impl LatentModel {
    /// Builds the model at its initial state.
    pub fn new(model: &ModelConfig, symbols: &[SymbolConfig], seed: u64) -> Self {
        let step_ns = model.step_ms as i64 * 1_000_000;
        let dt_s = model.step_ms as f64 / 1000.0;
        let dt_min = dt_s / 60.0;
        let slow_every = ((SLOW_EVERY_S / dt_s).round() as u64).max(1);
        let slow_dt_min = slow_every as f64 * dt_min;
        let ou = |tau_min: f64, sd: f64| {
            let decay = (-slow_dt_min / tau_min).exp();
            (decay, sd * (1.0 - decay * decay).sqrt())
        };
        let (slow_decay, slow_shock) = ou(model.sv_slow_tau_min, model.sv_slow_sd);
        let (fast_decay, fast_shock) = ou(model.sv_fast_tau_min, model.sv_fast_sd);
        let var_h = model.sv_slow_sd.powi(2) + model.sv_fast_sd.powi(2);
        let r = &model.regimes;
        let params = [
            r.calm.clone(),
            r.trending.clone(),
            r.volatile.clone(),
            r.crash.clone(),
        ];
        let slow_dt_s = slow_every as f64 * dt_s;
        let symbols = symbols
            .iter()
            .map(|s| {
                let alpha = if s.lag_smoothing_s > 0.0 {
                    1.0 - (-dt_s / s.lag_smoothing_s).exp()
                } else {
                    1.0
                };
                let delay_steps = (s.lag_s / dt_s).round().max(0.0) as usize;
                let log_p0_ticks = (s.initial_price / s.tick_size).ln();
                SymbolLatent {
                    log_p0_ticks,
                    beta: s.beta,
                    instant_share: s.instant_share,
                    alpha,
                    delayed: VecDeque::from(vec![0.0; delay_steps + 1]),
                    delay_steps,
                    lagged: 0.0,
                    idio: 0.0,
                    idio_sigma_1s: s.idio_vol_bps_1m * 1e-4 * (slow_dt_s / 60.0).sqrt(),
                    fair_ticks: log_p0_ticks.exp(),
                }
            })
            .collect();
        let mut this = Self {
            rng: SimRng::new(seed, 0x4C41_5445_4E54),
            params,
            step_ns,
            dt_min,
            regime: Regime::parse(&model.initial_regime).unwrap_or(Regime::Calm),
            steps_left_in_regime: 0,
            steps_to_jump: 0,
            drift_sign: 1.0,
            h_slow: 0.0,
            h_fast: 0.0,
            slow_decay,
            slow_shock,
            fast_decay,
            fast_shock,
            var_h,
            elasticity: model.activity_vol_elasticity,
            sigma_step: model.base_vol_bps_1m * 1e-4 * dt_min.sqrt(),
            slow_every,
            step_count: 0,
            common: 0.0,
            vol_scale: 1.0,
            activity: 1.0,
            symbols,
        };
        this.enter_regime(this.regime);
        this.refresh_scales();
        this
    }

    /// Returns the step length in ns.
    pub const fn step_ns(&self) -> i64 {
        self.step_ns
    }

    /// Returns the current regime.
    pub const fn regime(&self) -> Regime {
        self.regime
    }

    /// Returns the flow activity multiplier (regime times volatility elasticity).
    pub const fn activity(&self) -> f64 {
        self.activity
    }

    /// Returns the fair value of a symbol in (fractional) ticks.
    #[inline]
    pub fn fair_ticks(&self, symbol: usize) -> f64 {
        self.symbols.get(symbol).map_or(0.0, |s| s.fair_ticks)
    }

    /// Returns the common factor (log units since t=0).
    pub const fn common_factor(&self) -> f64 {
        self.common
    }

    fn params(&self) -> &RegimeParams {
        &self.params[self.regime.index()]
    }

    fn steps_for_minutes(&mut self, mean_min: f64) -> u64 {
        let minutes = self.rng.exp1() * mean_min;
        ((minutes / self.dt_min).ceil() as u64).max(1)
    }

    fn enter_regime(&mut self, regime: Regime) {
        self.regime = regime;
        let p = self.params[regime.index()].clone();
        self.steps_left_in_regime = self.steps_for_minutes(p.mean_duration_min);
        self.drift_sign = if regime == Regime::Trending {
            if self.rng.chance(0.5) {
                1.0
            } else {
                -1.0
            }
        } else {
            1.0
        };
        self.draw_next_jump();
    }

    fn draw_next_jump(&mut self) {
        let rate = self.params().jump_rate_per_hour;
        self.steps_to_jump = if rate > 0.0 {
            self.steps_for_minutes(60.0 / rate)
        } else {
            u64::MAX
        };
    }

    fn next_regime(&mut self) -> Regime {
        let next = self.params().next;
        let total: f64 = next.iter().sum();
        let mut u = self.rng.uniform() * total;
        for (i, w) in next.iter().enumerate() {
            if u < *w {
                return Regime::ALL[i];
            }
            u -= w;
        }
        Regime::Calm
    }

    fn refresh_scales(&mut self) {
        let h = self.h_slow + self.h_fast;
        let p = &self.params[self.regime.index()];
        self.vol_scale = p.vol_mult * (h - self.var_h).exp();
        let e = self.elasticity;
        self.activity = p.activity * (e * h - 0.5 * e * e * self.var_h).exp();
    }

    /// Advances the latent state by one step.
    pub fn step(&mut self) {
        self.step_count += 1;
        if self.steps_left_in_regime <= 1 {
            let next = self.next_regime();
            self.enter_regime(next);
            self.refresh_scales();
        } else {
            self.steps_left_in_regime -= 1;
        }
        let slow_tick = self.step_count.is_multiple_of(self.slow_every);
        if slow_tick {
            self.h_slow = self.h_slow * self.slow_decay + self.slow_shock * self.rng.normal();
            self.h_fast = self.h_fast * self.fast_decay + self.fast_shock * self.rng.normal();
            self.refresh_scales();
        }
        let p = &self.params[self.regime.index()];
        let drift = self.drift_sign * p.drift_bps_per_min * 1e-4 * self.dt_min;
        let mut d_common = drift + self.sigma_step * self.vol_scale * self.rng.normal();
        if self.steps_to_jump <= 1 {
            let (size_bps, down_prob) = (p.jump_size_bps, p.jump_down_prob);
            let size = size_bps * 1e-4 * self.rng.exp1();
            d_common += if self.rng.chance(down_prob) {
                -size
            } else {
                size
            };
            self.draw_next_jump();
        } else {
            self.steps_to_jump -= 1;
        }
        self.common += d_common;
        let common = self.common;
        let vol_scale = self.vol_scale;
        for i in 0..self.symbols.len() {
            if slow_tick {
                let shock = self.symbols[i].idio_sigma_1s * vol_scale * self.rng.normal();
                self.symbols[i].idio += shock;
            }
            let s = &mut self.symbols[i];
            s.delayed.push_back(common);
            while s.delayed.len() > s.delay_steps + 1 {
                s.delayed.pop_front();
            }
            let delayed = s.delayed.front().copied().unwrap_or(common);
            s.lagged += s.alpha * (delayed - s.lagged);
            let factor = s.instant_share * common + (1.0 - s.instant_share) * s.lagged;
            s.fair_ticks = (s.log_p0_ticks + s.beta * factor + s.idio).exp();
        }
    }

    /// Returns the time (ns) of step `k` after `t0`.
    pub const fn step_time(&self, t0: i64, k: i64) -> i64 {
        t0 + k * self.step_ns
    }
}

/// Seconds to nanoseconds, saturating.
pub fn secs_to_ns(seconds: f64) -> i64 {
    (seconds * NS_PER_S as f64).clamp(0.0, i64::MAX as f64 / 2.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, SymbolConfig};

    #[test]
    fn latent_path_depends_only_on_seed() {
        let symbols = [SymbolConfig::btc(), SymbolConfig::eth()];
        let mut a = LatentModel::new(&ModelConfig::default(), &symbols, 5);
        let mut b = LatentModel::new(&ModelConfig::default(), &symbols, 5);
        for _ in 0..10_000 {
            a.step();
            b.step();
        }
        assert_eq!(a.fair_ticks(1).to_bits(), b.fair_ticks(1).to_bits());
        assert_eq!(a.regime(), b.regime());
    }

    #[test]
    fn all_regimes_are_visited_over_ten_simulated_days() {
        let symbols = [SymbolConfig::btc()];
        let mut m = LatentModel::new(&ModelConfig::default(), &symbols, 11);
        let mut seen = [0u64; 4];
        for _ in 0..(10 * 24 * 36_000) {
            m.step();
            seen[m.regime().index()] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }
}
