//! Public market data of Bybit v5: instrument rules, best bid/ask and klines.
//!
//! These endpoints need no signature; the client signs them anyway (Bybit
//! ignores the headers), so one code path serves every call.

use super::{
    error::VenueError,
    models::{InstrumentInfoDto, KlineResult, Page, TickerDto},
    parse,
    types::{InstrumentSpec, Kline, Quote},
    BybitVenue,
};

const INSTRUMENTS_PATH: &str = "/v5/market/instruments-info";
const TICKERS_PATH: &str = "/v5/market/tickers";
const KLINE_PATH: &str = "/v5/market/kline";

/// Most klines Bybit returns per request.
pub const MAX_KLINES: usize = 1000;

impl BybitVenue {
    /// Reads the trading rules of one contract.
    ///
    /// # Errors
    /// `Parse` when Bybit does not list the symbol or its grid is malformed;
    /// transport and API errors as usual.
    pub fn instrument_spec(&mut self, symbol: &str) -> Result<InstrumentSpec, VenueError> {
        let venue_symbol = parse::to_venue_symbol(symbol)?;
        let params = [
            ("category", self.config.category.as_str()),
            ("symbol", venue_symbol.as_str()),
        ];
        let page: Page<InstrumentInfoDto> = self.http.get(INSTRUMENTS_PATH, &params)?;
        let row = page
            .list
            .iter()
            .find(|r| r.symbol == venue_symbol)
            .ok_or_else(|| {
                VenueError::parse(
                    INSTRUMENTS_PATH,
                    format!("Bybit does not list {venue_symbol}"),
                )
            })?;
        parse::instrument_spec(INSTRUMENTS_PATH, row)
    }

    /// Reads the best bid and ask of one contract.
    ///
    /// # Errors
    /// `Parse` when the symbol is missing from the answer; transport and API errors.
    pub fn quote(&mut self, symbol: &str) -> Result<Quote, VenueError> {
        let venue_symbol = parse::to_venue_symbol(symbol)?;
        let params = [
            ("category", self.config.category.as_str()),
            ("symbol", venue_symbol.as_str()),
        ];
        let page: Page<TickerDto> = self.http.get(TICKERS_PATH, &params)?;
        let row = page
            .list
            .iter()
            .find(|r| r.symbol == venue_symbol)
            .ok_or_else(|| {
                VenueError::parse(TICKERS_PATH, format!("no ticker for {venue_symbol}"))
            })?;
        parse::quote(TICKERS_PATH, row)
    }

    /// Reads up to `limit` (at most [`MAX_KLINES`]) closed 1-minute klines,
    /// oldest first. The bar still open is left out.
    ///
    /// # Errors
    /// Transport, API or parse errors.
    pub fn closed_klines(&mut self, symbol: &str, limit: usize) -> Result<Vec<Kline>, VenueError> {
        let venue_symbol = parse::to_venue_symbol(symbol)?;
        // One more than asked: the newest row is usually the open bar.
        let fetch = (limit.clamp(1, MAX_KLINES) + 1).min(MAX_KLINES).to_string();
        let params = [
            ("category", self.config.category.as_str()),
            ("symbol", venue_symbol.as_str()),
            ("interval", "1"),
            ("limit", fetch.as_str()),
        ];
        let result: KlineResult = self.http.get(KLINE_PATH, &params)?;
        if !result.symbol.is_empty() && result.symbol != venue_symbol {
            return Err(VenueError::parse(
                KLINE_PATH,
                format!("asked for {venue_symbol}, got {}", result.symbol),
            ));
        }
        let now_ms = i64::try_from(self.http.now_ms()).unwrap_or(i64::MAX);
        let mut klines = parse::klines(KLINE_PATH, &result.list, now_ms)?;
        let excess = klines.len().saturating_sub(limit);
        klines.drain(..excess);
        Ok(klines)
    }
}
