//! Wire protocol v1 (`docs/protocol.md`): commands in, replies and reports out.

pub mod codec;
pub mod commands;
pub mod reports;

pub use codec::{decode, DecodeError, PROTOCOL_VERSION};
pub use commands::{Command, Request};
