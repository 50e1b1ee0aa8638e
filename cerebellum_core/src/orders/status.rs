//! Order status and its transition table (one `match`, mirrored by the
//! engine's `ORDER_TRANSITIONS`).

use thiserror::Error;

/// Wire order status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted, nothing filled.
    New,
    /// Some quantity filled, the rest live.
    PartiallyFilled,
    /// Completely filled (terminal).
    Filled,
    /// Cancelled with its remainder (terminal).
    Canceled,
    /// Refused by the venue (terminal; the first and last wire state).
    Rejected,
}

impl OrderStatus {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::Rejected => "REJECTED",
        }
    }

    /// Whether no further event can change the order.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Canceled | Self::Rejected)
    }
}

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    /// A fill that leaves quantity open.
    PartialFill,
    /// A fill that completes the order.
    FinalFill,
    /// The remainder was cancelled.
    Cancel,
    /// The venue refused the order.
    Reject,
}

/// An event that the current status does not allow.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("invalid order transition: {event:?} in status {from:?}")]
pub struct InvalidTransition {
    /// Status before the event.
    pub from: OrderStatus,
    /// The refused event.
    pub event: OrderEvent,
}

impl OrderStatus {
    /// Returns the status after `event`.
    ///
    /// # Errors
    /// [`InvalidTransition`] for an edge the table does not have.
    pub const fn transition(self, event: OrderEvent) -> Result<Self, InvalidTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        match (self, event) {
            (S::New | S::PartiallyFilled, E::PartialFill) => Ok(S::PartiallyFilled),
            // A market order may go straight from NEW to FILLED.
            (S::New | S::PartiallyFilled, E::FinalFill) => Ok(S::Filled),
            (S::New | S::PartiallyFilled, E::Cancel) => Ok(S::Canceled),
            // Only legal before the core journaled NEW: the core journals NEW when the
            // venue accepts, so a refusal on arrival is the first and last wire state.
            (S::New, E::Reject) => Ok(S::Rejected),
            (from, event) => Err(InvalidTransition { from, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OrderEvent as E, OrderStatus as S};

    #[test]
    fn legal_edges_match_the_protocol() {
        assert_eq!(S::New.transition(E::PartialFill), Ok(S::PartiallyFilled));
        assert_eq!(S::New.transition(E::FinalFill), Ok(S::Filled));
        assert_eq!(S::New.transition(E::Cancel), Ok(S::Canceled));
        assert_eq!(
            S::PartiallyFilled.transition(E::PartialFill),
            Ok(S::PartiallyFilled)
        );
        assert_eq!(S::PartiallyFilled.transition(E::FinalFill), Ok(S::Filled));
        assert_eq!(S::PartiallyFilled.transition(E::Cancel), Ok(S::Canceled));
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for from in [S::Filled, S::Canceled, S::Rejected] {
            for event in [E::PartialFill, E::FinalFill, E::Cancel, E::Reject] {
                assert!(from.transition(event).is_err(), "{from:?} {event:?}");
            }
        }
        assert!(S::PartiallyFilled.transition(E::Reject).is_err());
    }
}
