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
    # Fix suggestions (``POST /admin/v1/errors/patterns/{id}/suggest-fix``) ask this model through Tollway's own
    # gateway with this Tollway key; unset, the route answers 503 naming these settings.
    suggest_gateway_url: str = ""
    suggest_api_key: str = ""
    suggest_model: str = ""
    # Under the gateway's 30 s for relaying an admin call, so error_monitor answers 504 before the relay gives up.
    suggest_timeout_s: float = 25.0
    suggest_max_tokens: int = 800

    @property
    def suggestions_configured(self) -> bool:
        return bool(self.suggest_gateway_url and self.suggest_api_key and self.suggest_model)

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


SUGGEST_SETTINGS = tuple(f"{ENV_PREFIX}SUGGEST_{name}" for name in ("GATEWAY_URL", "API_KEY", "MODEL"))


def load() -> ErrorMonitorSettings:
    return load_settings(ErrorMonitorSettings, ENV_PREFIX)
