"""Feature flags: a global value per flag and per-account overrides; an account sees its override, else the global."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import msgspec

from tollway.analytics.domain.queries import InvalidQueryError

GLOBAL = ""  # the account_id of a global value
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    account_id: str | None  # None: the global value
    enabled: bool
    updated_at: datetime
    updated_by: str


class EffectiveFlag(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    enabled: bool
    source: str  # "account" or "global"


def checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidQueryError("name", "a flag name is 1-64 lowercase letters, digits, '_', '.' or '-'")
    return name


def effective(flags: Sequence[Flag], account_id: str) -> list[EffectiveFlag]:
    """Each flag as ``account_id`` sees it: its own override when set, else the global value."""
    chosen: dict[str, EffectiveFlag] = {}
    for flag in sorted(flags, key=lambda f: (f.name, f.account_id is not None)):
        if flag.account_id is None:
            chosen[flag.name] = EffectiveFlag(name=flag.name, enabled=flag.enabled, source="global")
        elif flag.account_id == account_id:
            chosen[flag.name] = EffectiveFlag(name=flag.name, enabled=flag.enabled, source="account")
    return [chosen[name] for name in sorted(chosen)]
