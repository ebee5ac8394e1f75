"""Use-case failures, each with a stable machine code and the offending parameter (shaped into HTTP/CLI errors)."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of expected failures; the message is safe to show to the caller."""

    code = "gateway_error"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidInputError(GatewayError):
    code = "invalid_value"


class NotFoundError(GatewayError):
    code = "not_found"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"no user with id {user_id!r}", "user_id")


class ApiKeyNotFoundError(NotFoundError):
    code = "api_key_not_found"

    def __init__(self, api_key_id: str) -> None:
        super().__init__(f"no API key with id {api_key_id!r}", "api_key_id")


class ConflictError(GatewayError):
    code = "conflict"


class EmailTakenError(ConflictError):
    code = "email_taken"

    def __init__(self) -> None:
        # The address is not echoed: error bodies end up in client logs.
        super().__init__("a user with this email already exists", "email")
