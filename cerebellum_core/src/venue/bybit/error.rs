//! Errors of the Bybit adapter.
//!
//! The variants tell the caller what to do: `InvalidRequest` and `Api` are final
//! (fix the order or give up), `OutcomeUnknown` means "ask the venue with
//! [`super::BybitVenue::query_order`] before doing anything else", and the
//! transport-level variants are what is left after the retry budget ran out.

use thiserror::Error;

/// Bybit `retCode` values the adapter treats specially.
pub mod codes {
    /// Success.
    pub const OK: i64 = 0;
    /// Server timeout: the request may or may not have been processed.
    pub const SERVER_TIMEOUT: i64 = 10000;
    /// The request timestamp is outside `recv_window` of the server clock.
    pub const TIMESTAMP_OUT_OF_WINDOW: i64 = 10002;
    /// API key invalid (or for another environment: mainnet, testnet, demo).
    pub const INVALID_API_KEY: i64 = 10003;
    /// Signature does not match.
    pub const INVALID_SIGNATURE: i64 = 10004;
    /// Per-UID API rate limit exceeded ("Too many visits").
    pub const RATE_LIMITED: i64 = 10006;
    /// Internal server error or service restarting.
    pub const SERVER_ERROR: i64 = 10016;
    /// Order does not exist (cancel/amend of an unknown or closed order).
    pub const ORDER_NOT_EXISTS: i64 = 110001;
    /// `orderLinkId` already used.
    pub const DUPLICATE_ORDER_LINK_ID: i64 = 110072;
}

/// Everything that can go wrong talking to Bybit.
#[derive(Debug, Error)]
pub enum VenueError {
    /// A credential environment variable is absent or empty.
    #[error("missing Bybit credentials: environment variable {0} is not set or empty")]
    MissingCredentials(String),

    /// The adapter configuration is unusable.
    #[error("invalid Bybit adapter config: {0}")]
    Config(String),

    /// The request was refused locally before anything was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// Bybit answered with `retCode != 0` (a business or authentication error,
    /// or a transient one after the retry budget ran out).
    #[error("Bybit {path} answered retCode {code} ({msg}) after {attempts} attempt(s)")]
    Api {
        /// Endpoint path, e.g. `/v5/order/create`.
        path: String,
        /// Bybit `retCode`.
        code: i64,
        /// Bybit `retMsg`, with any credential text redacted.
        msg: String,
        /// How many times the request was sent.
        attempts: u32,
    },

    /// A non-2xx HTTP status without a usable Bybit body.
    #[error("Bybit {path} answered HTTP {status} after {attempts} attempt(s): {body}")]
    Http {
        /// Endpoint path.
        path: String,
        /// HTTP status code.
        status: u16,
        /// Start of the body, redacted and truncated.
        body: String,
        /// How many times the request was sent.
        attempts: u32,
    },

    /// Connection, TLS, timeout or I/O failure.
    #[error("Bybit {path}: transport error after {attempts} attempt(s): {detail}")]
    Transport {
        /// Endpoint path.
        path: String,
        /// What failed.
        detail: String,
        /// How many times the request was sent.
        attempts: u32,
    },

    /// The response was not shaped as Bybit documents it.
    #[error("Bybit {path}: malformed response: {detail}")]
    Parse {
        /// Endpoint path.
        path: String,
        /// What was wrong.
        detail: String,
    },

    /// A submit whose fate is unknown (timeouts, 5xx): the order may exist.
    /// Query it by client order id before resending or giving up.
    #[error("order {client_order_id}: outcome unknown, query before resending: {source}")]
    OutcomeUnknown {
        /// The engine's client order id (Bybit `orderLinkId`).
        client_order_id: String,
        /// The last transient error.
        #[source]
        source: Box<VenueError>,
    },

    /// Bybit does not know the order (`retCode` 110001 on cancel).
    #[error("order {client_order_id} does not exist on Bybit (already closed or never placed)")]
    OrderNotFound {
        /// The engine's client order id.
        client_order_id: String,
    },

    /// The client order id is already used on Bybit by a different order.
    #[error("client order id {client_order_id} is already used on Bybit by a different order")]
    DuplicateClientOrderId {
        /// The engine's client order id.
        client_order_id: String,
    },
}

impl VenueError {
    /// Returns the Bybit `retCode` when the error came from one.
    pub fn ret_code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::OutcomeUnknown { source, .. } => source.ret_code(),
            _ => None,
        }
    }

    /// Indicates whether the error is transient (network, 5xx, 429, rate limit,
    /// Bybit server error): the kind the HTTP client retries with backoff.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Api { code, .. } => matches!(
                *code,
                codes::RATE_LIMITED | codes::SERVER_ERROR | codes::SERVER_TIMEOUT
            ),
            _ => false,
        }
    }

    pub(crate) fn parse(path: &str, detail: impl Into<String>) -> Self {
        Self::Parse {
            path: path.to_owned(),
            detail: detail.into(),
        }
    }
}
