"""Persistence of gateway: its own ``gateway`` schema only."""
