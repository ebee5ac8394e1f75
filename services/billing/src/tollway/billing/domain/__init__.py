"""Pure rules of billing: ledger math, entries and their references, alerts, idempotency, cursors (no I/O)."""
