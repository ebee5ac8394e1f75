"""Tollway error_monitor: error reports, patterns and incidents."""
