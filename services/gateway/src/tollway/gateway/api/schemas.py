"""Bodies of the admin API: ``<Noun>In`` rejects unknown fields (no mass assignment), ``<Noun>Out`` never a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from tollway.gateway.domain.api_keys import ApiKey, IssuedKey
from tollway.gateway.domain.ratelimits import LimitOverride, Subject
from tollway.gateway.domain.users import DEFAULT_ROUTING_STRATEGY, NewUser, User


class UserIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: str | None = None
    display_name: str | None = None
    routing_strategy: str = DEFAULT_ROUTING_STRATEGY

    def to_new_user(self) -> NewUser:
        return NewUser(email=self.email, display_name=self.display_name, routing_strategy=self.routing_strategy)


class UserOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str | None
    display_name: str | None
    routing_strategy: str
    is_active: bool
    created_at: datetime
    role: str = "user"
    object: str = "user"

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(**msgspec.structs.asdict(user))


class ApiKeyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str | None = None
    expires_at: datetime | None = None


class ApiKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    name: str | None
    display_prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    scopes: tuple[str, ...] = ("inference", "read", "account")
    allowed_models: tuple[str, ...] | None = None
    ip_allowlist: tuple[str, ...] | None = None
    spend_limit_day_micros: int | None = None
    spend_limit_month_micros: int | None = None
    rotated_to: str | None = None
    object: str = "api_key"

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        fields = msgspec.structs.asdict(key)
        del fields["digest"]
        return cls(**fields)


class CreatedApiKeyOut(ApiKeyOut, frozen=True, kw_only=True):
    """The one response that carries the plaintext key; it is not retrievable again."""

    key: str

    @classmethod
    def issued(cls, issued: IssuedKey) -> CreatedApiKeyOut:
        fields = msgspec.structs.asdict(issued.api_key)
        del fields["digest"]
        return cls(**fields, key=issued.plaintext)


class ApiKeyListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[ApiKeyOut]
    object: str = "list"


LimitValue = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None


class RateLimitsIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``null`` (or absent) keeps the configured default for that dimension; 0 lifts the limit."""

    rpm: LimitValue = None
    tpm: LimitValue = None
    rpd: LimitValue = None

    def to_override(self) -> LimitOverride:
        return LimitOverride(rpm=self.rpm, tpm=self.tpm, rpd=self.rpd)


class RateLimitsOut(msgspec.Struct, frozen=True, kw_only=True):
    subject: Subject
    id: str
    rpm: int | None
    tpm: int | None
    rpd: int | None
    object: str = "rate_limits"

    @classmethod
    def of(cls, subject: Subject, subject_id: str, override: LimitOverride | None) -> RateLimitsOut:
        override = override or LimitOverride()
        return cls(subject=subject, id=subject_id, rpm=override.rpm, tpm=override.tpm, rpd=override.rpd)
