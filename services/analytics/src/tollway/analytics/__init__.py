"""Tollway analytics: request analytics and usage rollups."""
