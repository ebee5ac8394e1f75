"""Self-service account rules: who is calling, password policy, key attributes, scopes, cursors, domain deletion."""

from __future__ import annotations

import base64
import functools
import ipaddress
import secrets
from datetime import UTC, datetime, timedelta

import msgspec

from tollway.gateway.domain.errors import GatewayError, InvalidInputError
from tollway.gateway.domain.rejections import PublicError

SCOPES = ("inference", "read", "account")
ALL_SCOPES: tuple[str, ...] = SCOPES
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 hashes anything, but a megabyte "password" is a CPU attack, not a password
MAX_ALLOWED_MODELS = 100
MAX_IP_RULES = 50
MAX_ROTATION_GRACE_S = 7 * 86_400
REFRESH_TOKEN_PREFIX = "twr_"  # noqa: S105 - a prefix, like the keys' "tw_"
RESET_TOKEN_PREFIX = "twp_"  # noqa: S105
# Free-mail providers: deleting "every user @gmail.com" is never what an operator means (seed row 29).
PROTECTED_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com", "icloud.com",
     "protonmail.com", "proton.me", "aol.com", "gmx.com", "mail.com"}
)  # fmt: skip
# The most common leaked passwords and the patterns behind most others (a local list: no call to a breach API).
_BREACHED = frozenset(
    {"password", "passw0rd", "123456789012", "qwertyuiop", "letmein", "iloveyou", "admin", "welcome", "monkey",
     "dragon", "football", "baseball", "sunshine", "princess", "trustno1", "superman", "abc123", "qwerty123",
     "password123", "password1234", "changeme", "tollway"}
)  # fmt: skip
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")


class UnprocessableError(GatewayError):
    """A well-formed request the rules refuse (422), e.g. a weak password or a field that may not be set."""

    code = "unprocessable"


class InvalidCredentialsError(GatewayError):
    code = "invalid_credentials"


class InvalidTokenError(GatewayError):
    code = "invalid_token"


class ForbiddenError(GatewayError):
    code = "forbidden"


class TooManyAttemptsError(GatewayError):
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class KeyScopeError(PublicError):
    """The key works, but not for this: 403 like OpenAI's ``PermissionDeniedError``."""

    status = 403
    code = "insufficient_scope"


class AddressNotAllowedError(PublicError):
    status = 403
    code = "address_not_allowed"


class ModelNotAllowedError(PublicError):
    status = 403
    code = "model_not_allowed_for_key"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who calls an account route: a signed-in session (every scope) or an API key (its own scopes)."""

    user_id: str
    role: str
    scopes: tuple[str, ...]
    api_key_id: str | None = None
    session_id: str | None = None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ForbiddenError(f"this credential lacks the `{scope}` scope", "scope")


class KeySettings(msgspec.Struct, frozen=True, kw_only=True):
    """What an owner may set on a key; ``None`` in a patch means "unchanged" (``UNSET`` handling in the API)."""

    name: str | None = None
    scopes: tuple[str, ...] = ALL_SCOPES
    allowed_models: tuple[str, ...] | None = None
    expires_at: datetime | None = None
    ip_allowlist: tuple[str, ...] | None = None
    spend_limit_day_micros: int | None = None
    spend_limit_month_micros: int | None = None


def check_password(password: str, *, email: str | None = None) -> None:
    """Length and breached-pattern checks; raises ``UnprocessableError`` naming the rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UnprocessableError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters", "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UnprocessableError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters", "password")
    lowered = password.lower()
    if _is_common(lowered):
        raise UnprocessableError("this password appears in breach lists; choose another", "password")
    local = (email or "").partition("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        raise UnprocessableError("the password must not contain your email address", "password")


def _is_common(lowered: str) -> bool:
    if len(set(lowered)) <= 3:  # "aaaaaaaaaaaa", "abababababab"
        return True
    stripped = lowered.rstrip("0123456789!?.")
    if stripped in _BREACHED or lowered in _BREACHED:
        return True
    return any(lowered in sequence or lowered in sequence[::-1] for sequence in _SEQUENCES)


def checked_key_settings(settings: KeySettings, now: datetime) -> KeySettings:
    """``settings`` normalised (sorted, deduplicated); raises ``UnprocessableError`` for values out of bounds."""
    scopes = tuple(sorted(set(settings.scopes), key=SCOPES.index)) if set(settings.scopes) <= set(SCOPES) else None
    if not scopes:
        raise UnprocessableError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}", "scopes")
    if settings.expires_at is not None and (settings.expires_at.tzinfo is None or settings.expires_at <= now):
        raise UnprocessableError("expires_at must be a future timestamp with a timezone", "expires_at")
    models = settings.allowed_models
    if models is not None and (len(models) > MAX_ALLOWED_MODELS or any(not m or len(m) > 200 for m in models)):
        raise UnprocessableError(f"allowed_models takes up to {MAX_ALLOWED_MODELS} model ids", "allowed_models")
    networks = None if settings.ip_allowlist is None else tuple(_cidr(rule) for rule in settings.ip_allowlist)
    if networks is not None and len(networks) > MAX_IP_RULES:
        raise UnprocessableError(f"ip_allowlist takes up to {MAX_IP_RULES} entries", "ip_allowlist")
    for field in ("spend_limit_day_micros", "spend_limit_month_micros"):
        value = getattr(settings, field)
        if value is not None and value < 0:
            raise UnprocessableError(f"{field} must be >= 0", field)
    name = None if settings.name is None else settings.name.strip() or None
    if name is not None and len(name) > 200:
        raise InvalidInputError("name is longer than 200 characters", "name")
    return msgspec.structs.replace(
        settings,
        name=name,
        scopes=scopes,
        allowed_models=None if models is None else tuple(dict.fromkeys(models)),
        ip_allowlist=networks,
    )


def _cidr(rule: str) -> str:
    try:
        return str(ipaddress.ip_network(rule.strip(), strict=False))
    except ValueError:
        raise UnprocessableError(f"{rule[:60]!r} is not an IP address or CIDR block", "ip_allowlist") from None


@functools.lru_cache(maxsize=4096)
def _networks(rules: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # Parsed once per distinct allowlist: the hot path pays a tuple hash, not a parse.
    return tuple(ipaddress.ip_network(rule, strict=False) for rule in rules)


def address_allowed(rules: tuple[str, ...] | None, address: str | None) -> bool:
    """``True`` when the key has no allowlist or ``address`` falls inside one of its blocks."""
    if rules is None:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(rules))


def model_allowed(allowed: tuple[str, ...] | None, *names: str) -> bool:
    return allowed is None or any(name in allowed for name in names)


def rotation_expiry(current: datetime | None, now: datetime, grace_s: int) -> datetime:
    """When a rotated-out key stops: after the grace period, or earlier if it was going to expire anyway."""
    if not 0 <= grace_s <= MAX_ROTATION_GRACE_S:
        raise UnprocessableError(f"grace_seconds must be between 0 and {MAX_ROTATION_GRACE_S}", "grace_seconds")
    ends = now + timedelta(seconds=grace_s)
    return ends if current is None else min(current, ends)


def new_secret(prefix: str) -> str:
    """An opaque bearer secret (refresh or reset token): 256 random bits; only its digest is stored."""
    return prefix + secrets.token_urlsafe(32)


def email_domain(domain: str) -> str:
    """The normalised domain of a by-domain deletion; protected free-mail domains are refused."""
    cleaned = domain.strip().lower().lstrip("@")
    if not cleaned or "." not in cleaned or "@" in cleaned or "%" in cleaned or "_" in cleaned:
        raise InvalidInputError("domain must look like example.com", "domain")
    if cleaned in PROTECTED_DOMAINS:
        raise InvalidInputError(f"{cleaned} is a protected free-mail domain", "domain")
    return cleaned


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """Keyset position: the last row's sort value and id (stable under inserts, unlike offsets)."""

    at: datetime
    id: str


def encode_cursor(at: datetime, row_id: str | int) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(Cursor(at=at, id=str(row_id)))).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    if not text:
        return None
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), type=Cursor)
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None


def growth(daily_new: dict[str, int], total_before: int, days: int, today: datetime) -> list[tuple[str, int, int]]:
    """(date, new users, cumulative total) for each of the last ``days`` days, oldest first."""
    rows = []
    total = total_before
    start = today.astimezone(UTC).date() - timedelta(days=days - 1)
    for offset in range(days):
        day = (start + timedelta(days=offset)).isoformat()
        total += daily_new.get(day, 0)
        rows.append((day, daily_new.get(day, 0), total))
    return rows
