"""Why a public request is answered by the gateway itself: status, stable code, safe message, extra headers."""

from __future__ import annotations

from tollway.gateway.domain.errors import GatewayError


class PublicError(GatewayError):
    """Base of every refusal on the public routes; shaped as an OpenAI or Anthropic error by the API layer."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, param: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, param)
        self.headers = headers or {}


class BadRequestError(PublicError):
    status = 400
    code = "invalid_request"


class InvalidApiKeyError(PublicError):
    status = 401
    code = "invalid_api_key"


class InsufficientCreditError(PublicError):
    status = 402
    code = "insufficient_quota"


class KeyBudgetExceededError(PublicError):
    status = 402
    code = "key_budget_exceeded"


class AnonymousNotAllowedError(PublicError):
    status = 403
    code = "model_not_available_anonymously"


class ModelNotFoundError(PublicError):
    status = 404
    code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model[:200]}` does not exist or you do not have access to it.", "model")


class MethodNotAllowedError(PublicError):
    status = 405
    code = "method_not_allowed"


class BodyTooLargeError(PublicError):
    status = 413
    code = "request_too_large"


class TokensExceedLimitError(PublicError):
    """One request needs more tokens than a whole window allows: not retryable, so not a 429."""

    status = 413
    code = "tokens_exceed_limit"


class RateLimitedError(PublicError):
    status = 429
    code = "rate_limit_exceeded"


class InternalError(PublicError):
    status = 500
    code = "internal_error"


class ServiceUnavailableError(PublicError):
    """A dependency is briefly out (restarting, reconnecting): 503 with ``Retry-After`` so clients come back."""

    status = 503
    code = "service_unavailable"
    retry_after_s = 1

    def __init__(self, message: str, param: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, param, headers={"Retry-After": str(self.retry_after_s), **(headers or {})})


class RouterUnavailableError(ServiceUnavailableError):
    """The inference router did not answer (a restart, a redeploy): nothing was spent, so a retry is safe."""

    code = "upstream_unavailable"
