"""Market data: history store, downloads, live sources, replay, bars, L2 collector."""
