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

    /// Reads up to `limit` closed 1-minute klines, oldest first; with
    /// `before_ms`, the last `limit` of those that opened before it. The bar
    /// still open is left out.
    ///
    /// Bybit returns at most [`MAX_KLINES`] rows per request, newest first, so
    /// a larger `limit` is read in pages going backwards: each page asks for
    /// the rows that started at or before (`end`) the oldest start of the
    /// previous page minus 1 ms. Paging stops when `limit` klines are in, when
    /// Bybit returns fewer rows than asked (no older history), when the
    /// cursor does not move back, or after `limit / 999 + 2` requests.
    ///
    /// # Errors
    /// Transport, API or parse errors (of any page: no partial answer).
    pub fn closed_klines(
        &mut self,
        symbol: &str,
        limit: usize,
        before_ms: Option<i64>,
    ) -> Result<Vec<Kline>, VenueError> {
        let venue_symbol = parse::to_venue_symbol(symbol)?;
        let limit = limit.max(1);
        // Newest pages first; reversed at the end.
        let mut pages: Vec<Vec<Kline>> = Vec::new();
        let mut have = 0;
        // Inclusive bound on a kline's start time; `None`: up to now.
        let mut end = before_ms.map(|b| b.saturating_sub(1));
        let max_requests = limit / (MAX_KLINES - 1) + 2;
        for _ in 0..max_requests {
            let want = limit - have;
            // Without `end` one more than wanted: the newest row is usually the open bar.
            let fetch = (want + usize::from(end.is_none())).min(MAX_KLINES);
            let fetch_text = fetch.to_string();
            let end_text = end.map(|e| e.to_string());
            let mut params = vec![
                ("category", self.config.category.as_str()),
                ("symbol", venue_symbol.as_str()),
                ("interval", "1"),
            ];
            if let Some(e) = &end_text {
                params.push(("end", e.as_str()));
            }
            params.push(("limit", fetch_text.as_str()));
            let result: KlineResult = self.http.get(KLINE_PATH, &params)?;
            if !result.symbol.is_empty() && result.symbol != venue_symbol {
                return Err(VenueError::parse(
                    KLINE_PATH,
                    format!("asked for {venue_symbol}, got {}", result.symbol),
                ));
            }
            let rows = result.list.len();
            let now_ms = i64::try_from(self.http.now_ms()).unwrap_or(i64::MAX);
            let mut page = parse::klines(KLINE_PATH, &result.list, now_ms)?;
            if let Some(e) = end {
                page.retain(|k| k.start_ms <= e);
            }
            let excess = page.len().saturating_sub(want);
            page.drain(..excess);
            let Some(oldest) = page.first().map(|k| k.start_ms) else {
                break;
            };
            have += page.len();
            pages.push(page);
            let next_end = oldest.saturating_sub(1);
            if have >= limit || rows < fetch || end.is_some_and(|e| next_end >= e) {
                break;
            }
            end = Some(next_end);
        }
        Ok(pages.into_iter().rev().flatten().collect())
    }
}
