//! Venues behind one trait: the simulated exchange and Bybit.
pub mod bybit;
