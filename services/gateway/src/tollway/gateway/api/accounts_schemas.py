"""Bodies of the account, key and admin-user routes: ``<Noun>In`` forbid unknown fields (422), ``Out`` no secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from tollway.gateway.accounts import SignedIn
from tollway.gateway.api.schemas import ApiKeyOut, CreatedApiKeyOut, UserOut
from tollway.gateway.domain.accounts import ALL_SCOPES, KeySettings
from tollway.gateway.domain.accounts_records import AuditRecord, UserStats

Email = Annotated[str, msgspec.Meta(max_length=320)]
Password = Annotated[str, msgspec.Meta(max_length=1024)]
Token = Annotated[str, msgspec.Meta(max_length=8192)]
Micros = Annotated[int, msgspec.Meta(ge=0, le=2**62)]


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Unknown or privileged fields are refused, never silently dropped or stored."""


class RegisterIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class LoginIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Token


class LogoutIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Token | None = None


class ResetIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email


class ResetConfirmIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    token: Token
    new_password: Password


class ExternalIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id_token: Token


class MePatchIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    display_name: str | msgspec.UnsetType | None = msgspec.UNSET
    routing_strategy: str | msgspec.UnsetType = msgspec.UNSET


class KeyIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    scopes: list[str] = msgspec.field(default_factory=lambda: list(ALL_SCOPES))
    allowed_models: list[str] | None = None
    expires_at: datetime | None = None
    ip_allowlist: list[str] | None = None
    spend_limit_day_micros: Micros | None = None
    spend_limit_month_micros: Micros | None = None

    def settings(self) -> KeySettings:
        return KeySettings(
            name=self.name,
            scopes=tuple(self.scopes),
            allowed_models=None if self.allowed_models is None else tuple(self.allowed_models),
            expires_at=self.expires_at,
            ip_allowlist=None if self.ip_allowlist is None else tuple(self.ip_allowlist),
            spend_limit_day_micros=self.spend_limit_day_micros,
            spend_limit_month_micros=self.spend_limit_month_micros,
        )


class KeyPatchIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change; ``null`` clears a limit (every model, any address, no expiry)."""

    name: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType | None = msgspec.UNSET
    scopes: list[str] | msgspec.UnsetType = msgspec.UNSET
    allowed_models: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    ip_allowlist: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    spend_limit_day_micros: Micros | msgspec.UnsetType | None = msgspec.UNSET
    spend_limit_month_micros: Micros | msgspec.UnsetType | None = msgspec.UNSET

    def changes(self) -> dict[str, object]:
        present = {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not msgspec.UNSET}
        return {name: tuple(value) if isinstance(value, list) else value for name, value in present.items()}


class RotateIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    grace_seconds: Annotated[int, msgspec.Meta(ge=0)] | None = None


class AdminUserPatchIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: str | None = None
    is_active: bool | None = None
    routing_strategy: str | None = None  # e.g. the seed's bedrock_only: never the primary API


class LookupByKeyIn(_In, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: Annotated[str, msgspec.Meta(max_length=200)]


class RegisteredOut(msgspec.Struct, frozen=True, kw_only=True):
    user: UserOut
    api_key: CreatedApiKeyOut
    object: str = "registration"


class SessionOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserOut
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    api_key: CreatedApiKeyOut | None = None  # only when an external sign-in created the account
    object: str = "session"

    @classmethod
    def of(cls, signed: SignedIn) -> SessionOut:
        first = None if signed.first_key is None else CreatedApiKeyOut.issued(signed.first_key)
        return cls(
            access_token=signed.access_token,
            refresh_token=signed.refresh_token,
            expires_in=signed.expires_in,
            user=UserOut.of(signed.user),
            api_key=first,
        )


class RotatedKeyOut(CreatedApiKeyOut, frozen=True, kw_only=True):
    """The new key (``key`` shown once) and the one it replaces, with when that one stops."""

    previous: ApiKeyOut


class UserPageOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[UserOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"


class UserDetailOut(msgspec.Struct, frozen=True, kw_only=True):
    user: UserOut
    api_keys: list[ApiKeyOut]
    object: str = "user_detail"


class KeyOwnerOut(msgspec.Struct, frozen=True, kw_only=True):
    user: UserOut
    api_key: ApiKeyOut
    object: str = "key_owner"


class CountOut(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    object: str = "user_count"


class StatsOut(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    active: int
    inactive: int
    by_role: dict[str, int]
    with_password: int
    external: int
    object: str = "user_stats"

    @classmethod
    def of(cls, stats: UserStats) -> StatsOut:
        return cls(**msgspec.structs.asdict(stats))


class GrowthDayOut(msgspec.Struct, frozen=True, kw_only=True):
    date: str
    new_users: int
    total: int


class GrowthOut(msgspec.Struct, frozen=True, kw_only=True):
    days: int
    data: list[GrowthDayOut]
    total: int
    growth_rate: float  # percent over the period, 2 decimals; a ratio for display, not money
    object: str = "user_growth"


class DomainDeletionOut(msgspec.Struct, frozen=True, kw_only=True):
    domain: str
    dry_run: bool
    matched: int
    deleted: int
    users: list[UserOut]
    object: str = "domain_deletion"


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    event: str
    actor: str
    user_id: str | None
    api_key_id: str | None
    detail: dict[str, str]
    object: str = "audit_entry"

    @classmethod
    def of(cls, record: AuditRecord) -> AuditOut:
        return cls(**msgspec.structs.asdict(record))


class AuditPageOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[AuditOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"
