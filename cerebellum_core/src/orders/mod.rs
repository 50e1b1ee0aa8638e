//! Orders: status table, the order aggregate, the registry and positions.

pub mod order;
pub mod position;
pub mod registry;
pub mod status;
