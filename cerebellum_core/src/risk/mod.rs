//! Pre-trade risk: pure checks, the dead-man's switch and the kill switch.

pub mod checks;
pub mod deadman;
pub mod killswitch;
