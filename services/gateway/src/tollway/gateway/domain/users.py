"""Users: what registration accepts (normalised email, known routing strategy) and what is stored."""

from __future__ import annotations

import re
from datetime import datetime

import msgspec

from tollway.gateway.domain.errors import InvalidInputError

# The router implements primary_first (= the seed's plan_first), fallback_only and bedrock_only; other names
# route as primary_first there (services/inference_router/README.md).
ROUTING_STRATEGIES = ("primary_first", "weighted", "cheapest", "fastest", "plan_first", "fallback_only", "bedrock_only")
DEFAULT_ROUTING_STRATEGY = "primary_first"
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
ROLES = ("user", "developer", "admin")
DEFAULT_ROLE = "user"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    email: str | None = None
    display_name: str | None = None
    routing_strategy: str = DEFAULT_ROUTING_STRATEGY


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str | None
    display_name: str | None
    routing_strategy: str
    is_active: bool
    created_at: datetime
    role: str = DEFAULT_ROLE


def normalise_email(email: str) -> str:
    """Emails are unique case-insensitively, so they are stored lower-cased and trimmed."""
    return email.strip().lower()


def validated(new: NewUser) -> NewUser:
    """``new`` with its email normalised; raises ``InvalidInputError`` naming the first bad field."""
    email = None if new.email is None else normalise_email(new.email)
    if email is not None and (len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email)):
        raise InvalidInputError("email is not a valid address", "email")
    name = None if new.display_name is None else new.display_name.strip() or None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"display_name is longer than {MAX_NAME_LENGTH} characters", "display_name")
    if new.routing_strategy not in ROUTING_STRATEGIES:
        raise InvalidInputError(f"routing_strategy must be one of {', '.join(ROUTING_STRATEGIES)}", "routing_strategy")
    return NewUser(email=email, display_name=name, routing_strategy=new.routing_strategy)


def validated_key_name(name: str | None) -> str | None:
    name = None if name is None else name.strip() or None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"name is longer than {MAX_NAME_LENGTH} characters", "name")
    return name
