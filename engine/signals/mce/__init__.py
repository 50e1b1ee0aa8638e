"""MCE, the micro-causality engine: L2 features -> normalizer -> compact TFT -> skew, pressure."""
