//! Order status and its transition table (one `match`, equal to the engine's
//! `ORDER_TRANSITIONS`; `tests/invariants/test_order_state_tables.py` compares
//! the two through `cerebellum_core transitions`).

use thiserror::Error;

/// Order status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// Registered and sent to the venue, not accepted yet (the initial state).
    /// Not a wire status: no `OrderUpdate` carries it, and `Ack`, `OrderState`
    /// and `SnapshotReport` show such an order as `NEW` with no venue order id.
    PendingNew,
    /// Accepted by the venue (the core journaled `NEW`), nothing filled.
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
    /// Every status, the initial one first.
    pub const ALL: [Self; 6] = [
        Self::PendingNew,
        Self::New,
        Self::PartiallyFilled,
        Self::Filled,
        Self::Canceled,
        Self::Rejected,
    ];

    /// Returns the wire string; [`OrderStatus::PendingNew`] reads `NEW` (see there).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PendingNew | Self::New => "NEW",
            Self::PartiallyFilled => "PARTIALLY_FILLED",
            Self::Filled => "FILLED",
            Self::Canceled => "CANCELED",
            Self::Rejected => "REJECTED",
        }
    }

    /// Returns the status's own name: the wire string, except `PENDING_NEW`
    /// (the engine's name for the same state).
    pub const fn name(self) -> &'static str {
        match self {
            Self::PendingNew => "PENDING_NEW",
            other => other.as_str(),
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
    /// The venue accepted the order.
    Accept,
    /// A fill that leaves quantity open.
    PartialFill,
    /// A fill that completes the order.
    FinalFill,
    /// The remainder was cancelled.
    Cancel,
    /// The venue refused the order.
    Reject,
}

impl OrderEvent {
    /// Every event.
    pub const ALL: [Self; 5] = [
        Self::Accept,
        Self::PartialFill,
        Self::FinalFill,
        Self::Cancel,
        Self::Reject,
    ];
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
            (S::PendingNew, E::Accept) => Ok(S::New),
            // A refusal is legal only before acceptance, so on the wire `REJECTED` is
            // the first and last state. A venue that refuses an accepted order has
            // its refusal applied as a cancel by the core.
            (S::PendingNew, E::Reject) => Ok(S::Rejected),
            // Fill or cancel without `NEW` first. The core takes PendingNew -> Filled
            // for an unsolicited fill (booked as an order of its own, never accepted);
            // for an order it sent it journals `NEW` before the first fill or cancel,
            // but the edges stay legal, as in the engine's table, which starts an
            // order it first hears of through a report at PENDING_NEW.
            (S::PendingNew | S::New | S::PartiallyFilled, E::PartialFill) => Ok(S::PartiallyFilled),
            // A market order may go straight from NEW to FILLED.
            (S::PendingNew | S::New | S::PartiallyFilled, E::FinalFill) => Ok(S::Filled),
            (S::PendingNew | S::New | S::PartiallyFilled, E::Cancel) => Ok(S::Canceled),
            (from, event) => Err(InvalidTransition { from, event }),
        }
    }

    /// Returns every `(from, to)` edge of the table, found by applying each event
    /// to each status, sorted and without repeats.
    pub fn edges() -> Vec<(Self, Self)> {
        let mut edges: Vec<(Self, Self)> = Self::ALL
            .iter()
            .flat_map(|&from| {
                OrderEvent::ALL
                    .iter()
                    .filter_map(move |&event| from.transition(event).ok().map(|to| (from, to)))
            })
            .collect();
        edges.sort_unstable();
        edges.dedup();
        edges
    }
}

#[cfg(test)]
mod tests {
    use super::{OrderEvent as E, OrderStatus as S};

    #[test]
    fn legal_edges_match_the_protocol() {
        assert_eq!(S::PendingNew.transition(E::Accept), Ok(S::New));
        assert_eq!(S::PendingNew.transition(E::Reject), Ok(S::Rejected));
        assert_eq!(S::New.transition(E::PartialFill), Ok(S::PartiallyFilled));
        assert_eq!(S::New.transition(E::FinalFill), Ok(S::Filled));
        assert_eq!(S::New.transition(E::Cancel), Ok(S::Canceled));
        assert_eq!(
            S::PartiallyFilled.transition(E::PartialFill),
            Ok(S::PartiallyFilled)
        );
        assert_eq!(S::PartiallyFilled.transition(E::FinalFill), Ok(S::Filled));
        assert_eq!(S::PartiallyFilled.transition(E::Cancel), Ok(S::Canceled));
        assert_eq!(S::PendingNew.transition(E::FinalFill), Ok(S::Filled));
    }

    #[test]
    fn reject_after_acceptance_is_refused() {
        for from in [S::New, S::PartiallyFilled] {
            assert_eq!(
                from.transition(E::Reject),
                Err(super::InvalidTransition {
                    from,
                    event: E::Reject
                })
            );
        }
        assert!(!S::edges().contains(&(S::New, S::Rejected)));
    }

    #[test]
    fn accept_is_legal_only_once() {
        for from in S::ALL {
            assert_eq!(from.transition(E::Accept).is_ok(), from == S::PendingNew);
        }
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for from in [S::Filled, S::Canceled, S::Rejected] {
            for event in E::ALL {
                assert!(from.transition(event).is_err(), "{from:?} {event:?}");
            }
        }
    }

    #[test]
    fn pending_new_is_never_a_wire_status() {
        assert_eq!(S::PendingNew.as_str(), "NEW");
        assert_eq!(S::PendingNew.name(), "PENDING_NEW");
        for s in S::ALL {
            assert_ne!(s.as_str(), "PENDING_NEW");
        }
    }

    #[test]
    fn edges_are_the_table() {
        let edges = S::edges();
        assert_eq!(edges.len(), 11);
        for (from, to) in edges {
            assert!(E::ALL.iter().any(|&e| from.transition(e) == Ok(to)));
        }
    }
}
