//! The order aggregate: quantities in lots, prices in ticks, status via
//! [`OrderStatus::transition`].

use thiserror::Error;

use super::status::{InvalidTransition, OrderEvent, OrderStatus};
use crate::types::{CancelReason, OrderKey, OrderType, Side, SymbolId, TimeInForce};

/// Why an event could not be applied to an order.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OrderError {
    /// The status table refuses the event.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// A fill larger than the open quantity.
    #[error("fill of {fill} lots exceeds the {leaves} lots open")]
    Overfill {
        /// Lots in the fill.
        fill: i64,
        /// Lots open.
        leaves: i64,
    },
    /// A fill without quantity.
    #[error("fill quantity must be positive")]
    EmptyFill,
}

/// One order as the core tracks it.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Core key.
    pub key: OrderKey,
    /// Engine id.
    pub client_order_id: String,
    /// Venue id (empty until the venue answered).
    pub venue_order_id: String,
    /// Owner.
    pub strategy_id: String,
    /// Instrument.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price in ticks.
    pub price_ticks: Option<i64>,
    /// Quantity in lots.
    pub qty_lots: i64,
    /// GTC or IOC.
    pub time_in_force: TimeInForce,
    /// Post-only flag.
    pub post_only: bool,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Current status.
    pub status: OrderStatus,
    /// Filled lots.
    pub cum_lots: i64,
    /// Sum of `price_ticks * lots` over fills (for the average price).
    pub filled_ticks_lots: i128,
    /// Fees paid on this order.
    pub fees: f64,
    /// Time of the last change (venue clock).
    pub ts_event: i64,
    /// Why the core asked to cancel (overrides the venue's generic reason).
    pub cancel_reason: Option<CancelReason>,
    /// When the core last asked the venue to cancel (core clock).
    pub cancel_requested_ns: Option<i64>,
    /// Exec ids already applied.
    pub exec_ids: Vec<String>,
}

impl Order {
    /// Returns the open quantity in lots.
    pub const fn leaves_lots(&self) -> i64 {
        if self.status.is_terminal() {
            0
        } else {
            self.qty_lots - self.cum_lots
        }
    }

    /// Whether the order can still trade.
    pub const fn is_open(&self) -> bool {
        !self.status.is_terminal()
    }

    /// Returns the average fill price in (fractional) ticks, `None` before any fill.
    pub fn avg_price_ticks(&self) -> Option<f64> {
        (self.cum_lots > 0).then(|| self.filled_ticks_lots as f64 / self.cum_lots as f64)
    }

    /// Applies a fill; returns the new status.
    ///
    /// # Errors
    /// [`OrderError`] when the fill is empty, too large or the status is terminal.
    pub fn apply_fill(
        &mut self,
        price_ticks: i64,
        lots: i64,
        fee: f64,
        ts_event: i64,
    ) -> Result<OrderStatus, OrderError> {
        if lots <= 0 {
            return Err(OrderError::EmptyFill);
        }
        let leaves = self.qty_lots - self.cum_lots;
        let event = if lots < leaves {
            OrderEvent::PartialFill
        } else {
            OrderEvent::FinalFill
        };
        let status = self.status.transition(event)?;
        if lots > leaves {
            return Err(OrderError::Overfill { fill: lots, leaves });
        }
        self.status = status;
        self.cum_lots += lots;
        self.filled_ticks_lots += i128::from(price_ticks) * i128::from(lots);
        self.fees += fee;
        self.ts_event = ts_event;
        Ok(status)
    }

    /// Applies a cancellation of the remainder.
    ///
    /// # Errors
    /// [`OrderError::Transition`] when the order is already closed.
    pub fn apply_cancel(&mut self, ts_event: i64) -> Result<OrderStatus, OrderError> {
        self.status = self.status.transition(OrderEvent::Cancel)?;
        self.ts_event = ts_event;
        Ok(self.status)
    }

    /// Applies the venue's acceptance (the core then journals `NEW`).
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless the order is still pending.
    pub fn apply_accept(&mut self, ts_event: i64) -> Result<OrderStatus, OrderError> {
        self.status = self.status.transition(OrderEvent::Accept)?;
        self.ts_event = ts_event;
        Ok(self.status)
    }

    /// Whether the venue has not accepted the order yet (no `NEW` journaled).
    pub const fn is_pending(&self) -> bool {
        matches!(self.status, OrderStatus::PendingNew)
    }

    /// Applies a venue refusal.
    ///
    /// # Errors
    /// [`OrderError::Transition`] unless the order is still pending.
    pub fn apply_reject(&mut self, ts_event: i64) -> Result<OrderStatus, OrderError> {
        self.status = self.status.transition(OrderEvent::Reject)?;
        self.ts_event = ts_event;
        Ok(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(qty: i64) -> Order {
        Order {
            key: 1,
            client_order_id: "c".into(),
            venue_order_id: "S-1".into(),
            strategy_id: "s".into(),
            symbol: 0,
            side: Side::Buy,
            order_type: OrderType::Limit,
            price_ticks: Some(100),
            qty_lots: qty,
            time_in_force: TimeInForce::Gtc,
            post_only: false,
            reduce_only: false,
            status: OrderStatus::New,
            cum_lots: 0,
            filled_ticks_lots: 0,
            fees: 0.0,
            ts_event: 0,
            cancel_reason: None,
            cancel_requested_ns: None,
            exec_ids: Vec::new(),
        }
    }

    #[test]
    fn fills_accumulate_and_average() {
        let mut o = order(10);
        assert_eq!(
            o.apply_fill(100, 4, 0.0, 1),
            Ok(OrderStatus::PartiallyFilled)
        );
        assert_eq!(o.apply_fill(102, 6, 0.0, 2), Ok(OrderStatus::Filled));
        assert_eq!(o.cum_lots, 10);
        assert!((o.avg_price_ticks().unwrap() - 101.2).abs() < 1e-12);
        assert_eq!(o.leaves_lots(), 0);
    }

    #[test]
    fn overfill_and_fill_after_cancel_are_errors() {
        let mut o = order(5);
        assert!(matches!(
            o.apply_fill(100, 6, 0.0, 1),
            Err(OrderError::Overfill { .. })
        ));
        assert_eq!(o.apply_cancel(2), Ok(OrderStatus::Canceled));
        assert!(matches!(
            o.apply_fill(100, 1, 0.0, 3),
            Err(OrderError::Transition(_))
        ));
        assert!(o.apply_cancel(4).is_err());
    }

    #[test]
    fn reject_is_refused_once_accepted() {
        let mut o = order(5);
        o.status = OrderStatus::PendingNew;
        assert!(o.is_pending());
        assert_eq!(o.apply_accept(1), Ok(OrderStatus::New));
        assert!(o.apply_accept(2).is_err());
        assert!(matches!(o.apply_reject(3), Err(OrderError::Transition(_))));
        assert_eq!(o.status, OrderStatus::New);

        let mut refused = order(5);
        refused.status = OrderStatus::PendingNew;
        assert_eq!(refused.apply_reject(4), Ok(OrderStatus::Rejected));
        assert_eq!(refused.leaves_lots(), 0);
    }
}
