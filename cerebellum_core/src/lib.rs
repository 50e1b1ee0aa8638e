//! Cerebellum: Crucible's executor.
pub mod venue;
