//! Bybit v5 adapter.
