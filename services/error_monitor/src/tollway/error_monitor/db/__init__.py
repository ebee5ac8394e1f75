"""Persistence of error_monitor: its own ``error_monitor`` schema only."""
