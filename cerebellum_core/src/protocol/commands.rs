//! Commands (engine -> core) after decoding; see `docs/protocol.md`.
//!
//! Prices and quantities are still decimal here: grid checks need the
//! instrument and happen in the server (`OFF_TICK`, `OFF_LOT`).

use crate::types::{OrderType, Side, TimeInForce};

/// The scope of a kill switch, `Resume`, `CancelAll` or `Flatten`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything.
    Global,
    /// One strategy.
    Strategy(String),
    /// One symbol.
    Symbol(String),
}

impl Scope {
    /// Returns the wire name of the scope kind.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Global => "GLOBAL",
            Self::Strategy(_) => "STRATEGY",
            Self::Symbol(_) => "SYMBOL",
        }
    }

    /// Returns the target (`None` for global).
    pub fn target(&self) -> Option<&str> {
        match self {
            Self::Global => None,
            Self::Strategy(t) | Self::Symbol(t) => Some(t),
        }
    }

    /// Whether an order of `strategy` in `symbol` is inside the scope.
    pub fn contains(&self, strategy: &str, symbol: &str) -> bool {
        match self {
            Self::Global => true,
            Self::Strategy(s) => s == strategy,
            Self::Symbol(s) => s == symbol,
        }
    }
}

/// Trading state of a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TradingState {
    /// Normal trading.
    Active,
    /// Only reduce-only orders.
    Reducing,
    /// Cancelled and flattened; only cancels, flatten and reduce-only orders.
    Halted,
}

impl TradingState {
    /// Returns the wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Reducing => "REDUCING",
            Self::Halted => "HALTED",
        }
    }
}

/// A decoded `NewOrder`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    /// Engine-generated id, `[A-Za-z0-9._:-]{1,64}`.
    pub client_order_id: String,
    /// Owning strategy (agent).
    pub strategy_id: String,
    /// `BASE/QUOTE`.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Limit price (`None` for market orders).
    pub price: Option<f64>,
    /// Quantity.
    pub qty: f64,
    /// GTC or IOC.
    pub time_in_force: TimeInForce,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// Refuse to increase the position.
    pub reduce_only: bool,
}

/// Optional `strategy_id` / `symbol` filters of `CancelAll` and `Flatten`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this strategy.
    pub strategy_id: Option<String>,
    /// Only this symbol.
    pub symbol: Option<String>,
}

impl Filter {
    /// Whether an order of `strategy` in `symbol` passes the filter.
    pub fn matches(&self, strategy: &str, symbol: &str) -> bool {
        self.strategy_id.as_deref().is_none_or(|s| s == strategy)
            && self.symbol.as_deref().is_none_or(|s| s == symbol)
    }

    /// Builds the filter equivalent to a scope.
    pub fn from_scope(scope: &Scope) -> Self {
        match scope {
            Scope::Global => Self::default(),
            Scope::Strategy(s) => Self {
                strategy_id: Some(s.clone()),
                symbol: None,
            },
            Scope::Symbol(s) => Self {
                strategy_id: None,
                symbol: Some(s.clone()),
            },
        }
    }
}

/// Every command of protocol v1.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Registers the peer for journaled reports.
    Hello {
        /// Free-form client name.
        client: Option<String>,
    },
    /// Submits an order.
    NewOrder(NewOrder),
    /// Cancels one order.
    Cancel {
        /// Which order.
        client_order_id: String,
    },
    /// Cancels every open order passing the filter.
    CancelAll(Filter),
    /// Cancels and closes positions passing the filter.
    Flatten(Filter),
    /// Halts or restricts a scope.
    KillSwitch {
        /// Where.
        scope: Scope,
        /// `Halted` or `Reducing`.
        state: TradingState,
        /// Why (for the journal).
        reason: Option<String>,
    },
    /// Sets a scope back to active.
    Resume {
        /// Where.
        scope: Scope,
    },
    /// Engine liveness.
    Heartbeat {
        /// Engine time.
        ts_init: Option<i64>,
        /// Age of the engine loop's last tick.
        loop_age_ms: u64,
    },
    /// Requests the full state.
    Snapshot,
    /// Asks for one order by client order id.
    QueryOrder {
        /// Which order.
        client_order_id: String,
    },
    /// Resends journaled reports from `from_seq`.
    ReplayReports {
        /// First sequence number wanted.
        from_seq: u64,
    },
    /// Asks for recent closed bars of one symbol.
    Bars {
        /// `BASE/QUOTE`.
        symbol: String,
        /// Bars wanted (1 or more; the core caps it at [`crate::venue::MAX_BARS`]).
        limit: usize,
        /// Only bars that opened before this time (ms since the epoch), to
        /// page backwards; `None`: up to the last closed bar.
        before_ms: Option<i64>,
    },
}

impl Command {
    /// Returns the wire type name.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "Hello",
            Self::NewOrder(_) => "NewOrder",
            Self::Cancel { .. } => "Cancel",
            Self::CancelAll(_) => "CancelAll",
            Self::Flatten(_) => "Flatten",
            Self::KillSwitch { .. } => "KillSwitch",
            Self::Resume { .. } => "Resume",
            Self::Heartbeat { .. } => "Heartbeat",
            Self::Snapshot => "Snapshot",
            Self::QueryOrder { .. } => "QueryOrder",
            Self::ReplayReports { .. } => "ReplayReports",
            Self::Bars { .. } => "Bars",
        }
    }
}

/// A decoded frame: the request id and the command.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Echoed in the reply.
    pub req_id: i64,
    /// The command.
    pub command: Command,
}
