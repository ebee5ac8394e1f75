"""Use-case failures, each with a stable machine code and the offending parameter (shaped into HTTP errors)."""

from __future__ import annotations


class BillingError(Exception):
    """Base of expected failures; the message is safe to show to the caller."""

    code = "billing_error"

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidInputError(BillingError):
    code = "invalid_value"


class MissingIdempotencyKeyError(InvalidInputError):
    code = "idempotency_key_required"

    def __init__(self) -> None:
        super().__init__("the Idempotency-Key header is required for this request", "Idempotency-Key")


class NotFoundError(BillingError):
    code = "not_found"


class ConflictError(BillingError):
    code = "conflict"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was already used with a different request; use a new key", "Idempotency-Key"
        )


class AlreadyRefundedError(ConflictError):
    code = "already_refunded"

    def __init__(self, transaction_id: str) -> None:
        super().__init__(f"transaction {transaction_id!r} was already refunded", "transaction_id")


class UnprocessableError(BillingError):
    """A well-formed request the ledger refuses (HTTP 422)."""

    code = "unprocessable"


class LimitExceededError(UnprocessableError):
    code = "limit_exceeded"


class NotRefundableError(UnprocessableError):
    code = "not_refundable"


class CouponNotFoundError(NotFoundError):
    code = "coupon_not_found"

    def __init__(self, param: str = "code") -> None:
        super().__init__("no such coupon", param)


class CouponRefusedError(UnprocessableError):
    """A coupon that exists but cannot be redeemed now by this caller (the code says why)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, "code")
        self.code = code


class CouponAlreadyRedeemedError(ConflictError):
    code = "coupon_already_redeemed"

    def __init__(self) -> None:
        super().__init__("you have already redeemed this coupon", "code")


class CouponCodeTakenError(ConflictError):
    code = "coupon_code_taken"

    def __init__(self, code: str) -> None:
        super().__init__(f"a coupon with code {code!r} already exists", "code")


class RefundExceedsChargeError(UnprocessableError):
    code = "refund_exceeds_charge"
