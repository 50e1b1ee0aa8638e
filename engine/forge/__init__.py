"""The Forge: labels, backtests, GP and GBM specialists, gauntlet, registry, supervisor."""
