"""Pure rules of analytics: request records, hourly rollups, usage queries and money formatting."""
