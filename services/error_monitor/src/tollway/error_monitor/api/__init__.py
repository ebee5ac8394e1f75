"""error_monitor's HTTP API: errors, patterns, the dashboard and incidents, for operators through the gateway."""
