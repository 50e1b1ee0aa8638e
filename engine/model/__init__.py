"""Domain types: enums, market data, orders, events and commands (all immutable)."""
