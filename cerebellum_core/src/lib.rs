//! Cerebellum: Crucible's executor.
//!
//! The engine (Python) sends commands over a ZeroMQ ROUTER socket; the core
//! validates them, runs pre-trade risk, keeps the order state machine and
//! positions, and trades on a venue: the embedded simulator or Bybit.
//! See `docs/protocol.md` for the wire and `docs/sim_venue.md` for the simulator.

pub mod clock;
pub mod config;
pub mod error;
pub mod orders;
pub mod protocol;
pub mod risk;
pub mod server;
pub mod types;
pub mod venue;
