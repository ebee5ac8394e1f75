"""ErrorMonitor settings, loaded once per process from ``ERROR_MONITOR_*`` environment variables."""

from __future__ import annotations

from tollway.error_monitor.domain.incidents import IncidentRules
from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "ERROR_MONITOR_"


class ErrorMonitorSettings(InfraSettings, frozen=True, kw_only=True):
    port: int = 8084
    # Incident rules (see domain.incidents.IncidentRules): the window the rates are read over, in seconds.
    incident_window_s: float = 300.0
    # A provider opens an incident at this many failed attempts in a row (the router's breaker threshold)...
    incident_breaker_failures: int = 5
    # ...or when this share of at least ``incident_min_attempts`` attempts in the window failed.
    incident_failure_rate: float = 0.5
    incident_min_attempts: int = 10
    # Mean latency (ms) of the window above which a provider opens an incident; 0 = no latency rule.
    incident_slow_latency_ms: int = 0
    # An ongoing provider incident resolves itself after this many successes in a row.
    incident_recovery_successes: int = 3
    # An error pattern opens an incident at this many errors within the window.
    incident_spike_errors: int = 20

    def incident_rules(self) -> IncidentRules:
        return IncidentRules(
            window_s=self.incident_window_s,
            min_attempts=self.incident_min_attempts,
            failure_rate=self.incident_failure_rate,
            breaker_failures=self.incident_breaker_failures,
            recovery_successes=self.incident_recovery_successes,
            slow_latency_ms=self.incident_slow_latency_ms,
            spike_errors=self.incident_spike_errors,
        )


def load() -> ErrorMonitorSettings:
    return load_settings(ErrorMonitorSettings, ENV_PREFIX)
