//! Error types of the core (thiserror); `anyhow` only at the binary edge.

use thiserror::Error;

use crate::types::RejectCode;

/// The configuration cannot be used: the operator must fix it.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config: {0}")]
    Io(String),
    /// A field is malformed or out of range.
    #[error("config field `{path}`: {message}")]
    Field {
        /// Dotted path of the field, e.g. `sim.symbols[1].tick_size`.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A command the core refuses; becomes a `Reject` on the wire.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{code}: {reason}")]
pub struct Rejection {
    /// Wire code.
    pub code: RejectCode,
    /// Human explanation.
    pub reason: String,
}

impl Rejection {
    /// Builds a rejection.
    pub fn new(code: RejectCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// The server could not start or had to stop.
#[derive(Debug, Error)]
pub enum ServerError {
    /// A ZeroMQ call failed.
    #[error("zeromq: {context}: {source}")]
    Zmq {
        /// What was being done.
        context: String,
        /// The zmq error.
        source: zmq::Error,
    },
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Anything else about the environment (directories, venue setup).
    #[error("{0}")]
    Setup(String),
}

impl ServerError {
    /// Wraps a zmq error with context.
    pub fn zmq(context: impl Into<String>, source: zmq::Error) -> Self {
        Self::Zmq {
            context: context.into(),
            source,
        }
    }
}
