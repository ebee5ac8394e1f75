"""Concrete implementations of the router's ports (aiohttp upstream calls, Redis breakers, outbox usage sink)."""
