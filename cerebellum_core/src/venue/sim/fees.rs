//! Fee models (the hftbacktest seam: one trait per modelling choice).

use crate::types::Liquidity;

/// Computes the fee of a fill in quote currency.
pub trait FeeModel {
    /// Returns the fee for a fill of `qty` at `price` (negative = rebate).
    fn fee(&self, liquidity: Liquidity, price: f64, qty: f64) -> f64;
}

/// Maker and taker fees in basis points of notional.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MakerTakerFees {
    /// Maker fee in bps (negative = rebate).
    pub maker_bps: f64,
    /// Taker fee in bps.
    pub taker_bps: f64,
}

impl FeeModel for MakerTakerFees {
    fn fee(&self, liquidity: Liquidity, price: f64, qty: f64) -> f64 {
        let bps = match liquidity {
            Liquidity::Maker => self.maker_bps,
            Liquidity::Taker => self.taker_bps,
        };
        price * qty * bps * 1e-4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taker_pays_more_than_maker() {
        let fees = MakerTakerFees {
            maker_bps: 2.0,
            taker_bps: 5.5,
        };
        let maker = fees.fee(Liquidity::Maker, 60_000.0, 0.01);
        let taker = fees.fee(Liquidity::Taker, 60_000.0, 0.01);
        assert!((maker - 0.12).abs() < 1e-9);
        assert!((taker - 0.33).abs() < 1e-9);
    }
}
