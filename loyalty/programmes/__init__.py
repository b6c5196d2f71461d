"""Programme versions: stored, published for a time, read by every process, compared,
simulated and backtested."""
