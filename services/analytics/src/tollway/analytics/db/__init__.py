"""Persistence of analytics: its own ``analytics`` schema only."""
