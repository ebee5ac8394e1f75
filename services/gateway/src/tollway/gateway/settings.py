"""Gateway settings, loaded once per process from ``GATEWAY_*`` environment variables."""

from __future__ import annotations

from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "GATEWAY_"


class GatewaySettings(InfraSettings, frozen=True, kw_only=True):
    development_secrets = ("internal_secret", "key_pepper", "session_secret")
    port: int = 8080
    # Empty disables the admin API (every call is 401); set it from a secret store in deployment.
    admin_key: str = ""
    # Shared by every replica and the CLI: changing it invalidates every issued key.
    key_pepper: str = "dev-key-pepper-change-me"  # dev default, overridden in deployment
    key_cache_ttl_s: float = 60.0
    key_cache_negative_ttl_s: float = 5.0
    key_cache_max_entries: int = 100_000
    key_usage_flush_s: float = 30.0
    # The inference_router this gateway forwards to, and its catalogue cache.
    router_url: str = "http://127.0.0.1:8081"
    # Owners of the account routes the gateway forwards (credits, usage, admin grants).
    billing_url: str = "http://127.0.0.1:8082"
    analytics_url: str = "http://127.0.0.1:8083"
    error_monitor_url: str = "http://127.0.0.1:8084"
    catalog_refresh_s: float = 30.0
    catalog_retry_s: float = 1.0
    max_body_bytes: int = 4 * 1024 * 1024
    # Default limits per API key and per user, for every tier; 0 = unlimited, unset = the tier's default below.
    # Overrides live in ``rate_limit_overrides``.
    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None
    # Every key and user has limits by default (issue 9): those of ``limit_tier`` (trial or paid), each dimension
    # replaced by GATEWAY_RPM/TPM/RPD when set; a tier value of 0 = unlimited.
    limit_tier: str = "trial"
    trial_rpm: int = 3_000
    trial_tpm: int = 10_000_000
    trial_rpd: int = 200_000
    paid_rpm: int = 10_000
    paid_tpm: int = 50_000_000
    paid_rpd: int = 0
    limits_refresh_s: float = 5.0  # how fast every replica sees an override set through another one
    # The windows behind "per minute" and "per day"; only tests and drills shorten them.
    rate_minute_s: float = 60.0
    rate_day_s: float = 86_400.0
    rate_limit_fail_open: bool = False  # Redis down: 503 (default) or admit without limits and holds
    redis_timeout_s: float = 2.0  # a hung Redis, not a slow one: a busy loop must not turn into 503s
    # Credit holds: a hold outlives any request (crashed gateways cannot strand credit); a finished request's
    # cost stays counted for settle_s, the time billing needs to show it in the balances bucket.
    hold_ttl_s: float = 900.0
    settled_hold_s: float = 30.0
    # Anonymous (keyless) calls: off unless enabled, only for models marked anonymous_allowed, limited per IP.
    anonymous_enabled: bool = False
    anonymous_rpm: int = 10
    anonymous_tpm: int = 20_000
    anonymous_rpd: int = 200

    # Accounts (ADR 009). The session secret signs access tokens: every replica shares it; change it to sign all out.
    session_secret: str = "dev-session-secret-change-me-0123456789abcdef"  # noqa: S105 - dev default
    access_token_ttl_s: int = 900
    session_ttl_s: int = 30 * 86_400
    password_reset_ttl_s: int = 1_800
    key_rotation_grace_s: int = 3_600
    login_max_failures: int = 5
    login_max_per_address: int = 30
    login_window_s: int = 900
    register_max_per_address: int = 10
    reset_max_per_address: int = 5
    public_url: str = "http://127.0.0.1:8080"  # where reset links in mails point
    external_issuer: str = ""  # empty: POST /v1/auth/external answers 403
    external_audience: str = ""
    external_jwks_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Tollway <no-reply@tollway.local>"
    mail_poll_s: float = 1.0
    mail_sink_dir: str = ".run/mail"

    def __repr__(self) -> str:
        # Settings get logged on startup errors; the two secrets of this service never do.
        return (
            f"GatewaySettings(namespace={self.namespace!r}, port={self.port}, admin_key=***, key_pepper=***, "
            "session_secret=***, smtp_password=***)"
        )


def load() -> GatewaySettings:
    return load_settings(GatewaySettings, ENV_PREFIX)
