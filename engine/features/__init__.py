"""FeatureFactory: causal multi-timeframe features, batch and incremental."""
