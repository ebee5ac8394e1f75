"""Tollway billing: accounts, the credit ledger and the balances KV bucket."""
