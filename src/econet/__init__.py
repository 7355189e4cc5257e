"""econet: transboundary conservation connectivity, observation hub and analytics."""

__version__ = "0.1.0"
