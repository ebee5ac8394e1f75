"""Test support for Tollway: real Postgres/NATS/Redis per test, service processes, event helpers."""
