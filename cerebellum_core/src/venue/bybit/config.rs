//! Configuration of the Bybit adapter.

use super::{error::VenueError, http::RetryPolicy};

/// Bybit mainnet REST base URL.
pub const MAINNET_URL: &str = "https://api.bybit.com";
/// Bybit testnet REST base URL.
pub const TESTNET_URL: &str = "https://api-testnet.bybit.com";

/// Bybit product category. Only USDT/USDC linear contracts are supported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Category {
    /// Linear (USDT/USDC-margined) perpetuals and futures.
    #[default]
    Linear,
}

impl Category {
    /// Bybit spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linear => "linear",
        }
    }
}

/// Adapter configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BybitConfig {
    /// Use the testnet base URL (ignored when `base_url` is set).
    pub testnet: bool,
    /// `X-BAPI-RECV-WINDOW` in ms (Bybit default 5000).
    pub recv_window_ms: u64,
    /// Base URL override (tests, regional domains). Must be `https://`
    /// unless it points at a loopback host.
    pub base_url: Option<String>,
    /// Product category.
    pub category: Category,
    /// Settle coin for account-wide calls (positions, cancel-all without a symbol).
    pub settle_coin: String,
    /// Retry and timeout budget of each call.
    pub retry: RetryPolicy,
    /// How far before the fill watermark each poll re-reads, ms.
    pub fill_overlap_ms: u64,
    /// Page cap of one fill poll (100 executions per page).
    pub max_fill_pages: u32,
    /// How many `execId`s are remembered for dedupe.
    pub dedupe_capacity: usize,
    /// How many issued client order ids are remembered to tell solicited fills.
    pub issued_capacity: usize,
    /// Report fills from this time (ms since the epoch) on; `None` = adapter start.
    pub fills_since_ms: Option<u64>,
}

impl Default for BybitConfig {
    fn default() -> Self {
        Self {
            testnet: true,
            recv_window_ms: 5000,
            base_url: None,
            category: Category::Linear,
            settle_coin: "USDT".to_owned(),
            retry: RetryPolicy::default(),
            fill_overlap_ms: 60_000,
            max_fill_pages: 20,
            dedupe_capacity: 50_000,
            issued_capacity: 100_000,
            fills_since_ms: None,
        }
    }
}

impl BybitConfig {
    /// The base URL in effect.
    pub fn effective_base_url(&self) -> &str {
        match &self.base_url {
            Some(url) => url,
            None if self.testnet => TESTNET_URL,
            None => MAINNET_URL,
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// `Config` naming the first bad value.
    pub fn validate(&self) -> Result<(), VenueError> {
        let url = self.effective_base_url();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|prefix| {
                url.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            });
        if !url.starts_with("https://") && !loopback {
            return Err(VenueError::Config(format!(
                "base_url {url:?} must be https (or loopback http)"
            )));
        }
        if !(1..=60_000).contains(&self.recv_window_ms) {
            return Err(VenueError::Config(format!(
                "recv_window_ms {} not in 1..=60000",
                self.recv_window_ms
            )));
        }
        let coin_ok = !self.settle_coin.is_empty()
            && self.settle_coin.bytes().all(|b| b.is_ascii_uppercase());
        if !coin_ok {
            return Err(VenueError::Config(format!(
                "settle_coin {:?} is not an uppercase coin",
                self.settle_coin
            )));
        }
        if self.max_fill_pages == 0 || self.dedupe_capacity == 0 || self.issued_capacity == 0 {
            return Err(VenueError::Config(
                "max_fill_pages and capacities must be positive".into(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(VenueError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
