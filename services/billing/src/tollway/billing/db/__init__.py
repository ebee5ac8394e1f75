"""Persistence of billing: its own ``billing`` schema only."""
