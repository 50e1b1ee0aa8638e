"""Engine-side risk: pure pre-trade checks and the RiskManager (trading state, kill switch)."""
