"""Shared fixtures come from the ``tollway.testing.plugin`` pytest plugin (enabled in pyproject addopts)."""
