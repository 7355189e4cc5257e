"""Population, movement, bird, glacier, coverage and ecosystem-service analyses (pure functions)."""
