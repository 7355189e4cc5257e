"""One router per API resource (health, layers and tiles for now)."""
