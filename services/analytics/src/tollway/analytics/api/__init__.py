"""analytics' HTTP API: usage reports and request listings, reached through the gateway."""
