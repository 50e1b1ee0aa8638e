"""Regime and micro-structure signals: TopologicalRadar, InfluenceMapper, MCE."""
