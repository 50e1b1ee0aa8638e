//! Positions per (strategy, symbol) and the account's cash, changed only by fills.
//!
//! Average-cost accounting: adding to a position moves the average entry
//! price; reducing realises `(exit - entry) * closed qty`; crossing through
//! zero realises the closed part and opens the rest at the fill price.
//! Cash (`balances.USDT`) is spot-style: `initial - buys + sells - fees`, so
//! NAV = cash + sum(position * mid).

use crate::types::Side;

/// One strategy's position in one symbol.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Position {
    /// Signed quantity in lots (negative = short).
    pub qty_lots: i64,
    /// Average entry price in price units (0 when flat).
    pub avg_price: f64,
    /// Realised PnL in quote currency (before fees).
    pub realized_pnl: f64,
    /// Fees paid in quote currency.
    pub fees: f64,
}

impl Position {
    /// Applies a fill of `lots` (quantity `qty` in base units) at `price`.
    pub fn apply_fill(&mut self, side: Side, lots: i64, qty: f64, price: f64, fee: f64) {
        if lots <= 0 {
            return;
        }
        let signed = side.sign() * lots;
        let lot_size = qty / lots as f64;
        let before = self.qty_lots;
        self.fees += fee;
        if before == 0 || before.signum() == signed.signum() {
            let total = before.abs() + lots;
            self.avg_price =
                (self.avg_price * before.abs() as f64 + price * lots as f64) / total as f64;
            self.qty_lots = before + signed;
            return;
        }
        let closed = lots.min(before.abs());
        let direction = before.signum() as f64;
        self.realized_pnl += (price - self.avg_price) * closed as f64 * lot_size * direction;
        self.qty_lots = before + signed;
        if self.qty_lots == 0 {
            self.avg_price = 0.0;
        } else if self.qty_lots.signum() != before.signum() {
            self.avg_price = price;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_realizes_pnl_and_goes_flat() {
        let mut p = Position::default();
        p.apply_fill(Side::Buy, 100, 0.01, 60_000.0, 0.1);
        p.apply_fill(Side::Buy, 100, 0.01, 61_000.0, 0.1);
        assert_eq!(p.qty_lots, 200);
        assert!((p.avg_price - 60_500.0).abs() < 1e-9);
        p.apply_fill(Side::Sell, 200, 0.02, 62_000.0, 0.2);
        assert_eq!(p.qty_lots, 0);
        assert!((p.realized_pnl - 30.0).abs() < 1e-9);
        assert!((p.fees - 0.4).abs() < 1e-12);
        assert_eq!(p.avg_price, 0.0);
    }

    #[test]
    fn crossing_zero_opens_the_rest_at_the_fill_price() {
        let mut p = Position::default();
        p.apply_fill(Side::Sell, 10, 0.1, 100.0, 0.0);
        p.apply_fill(Side::Buy, 30, 0.3, 90.0, 0.0);
        assert_eq!(p.qty_lots, 20);
        assert!((p.realized_pnl - 1.0).abs() < 1e-9);
        assert_eq!(p.avg_price, 90.0);
    }
}
