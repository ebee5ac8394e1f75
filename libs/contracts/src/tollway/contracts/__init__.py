"""Tollway's event contracts: the only thing services know about each other."""

from tollway.contracts.analytics import ReconciliationDriftedV1
from tollway.contracts.base import Event, new_event_id, subject_of, utc_now
from tollway.contracts.billing import (
    BalanceExhaustedV1,
    BalanceLowV1,
    BudgetExceededV1,
    CouponRedeemedV1,
    CreditDebitedV1,
    CreditDeductedV1,
    CreditGrantedV1,
)
from tollway.contracts.codec import MSG_ID_HEADER, TRACEPARENT_HEADER, decode, decoder_for, encode, json_schema
from tollway.contracts.error_monitor import ErrorReportedV1, IncidentOpenedV1, IncidentResolvedV1, error_subject
from tollway.contracts.gateway import (
    ApiKeyBudgetChangedV1,
    ApiKeyCreatedV1,
    ApiKeyRevokedV1,
    ApiKeyUpdatedV1,
    UserDeletedV1,
    UserRegisteredV1,
)
from tollway.contracts.inference_router import ProviderAttemptV1, RequestCompletedV1, RequestFailedV1
from tollway.contracts.streams import ALL_BUCKETS, ALL_STREAMS, KeyValueSpec, StreamSpec

ALL_EVENTS: tuple[type[Event], ...] = (
    UserRegisteredV1,
    ApiKeyCreatedV1,
    ApiKeyRevokedV1,
    ApiKeyUpdatedV1,
    ApiKeyBudgetChangedV1,
    UserDeletedV1,
    RequestCompletedV1,
    RequestFailedV1,
    CreditDebitedV1,
    CreditGrantedV1,
    CreditDeductedV1,
    BalanceLowV1,
    BalanceExhaustedV1,
    CouponRedeemedV1,
    BudgetExceededV1,
    ErrorReportedV1,
    IncidentOpenedV1,
    IncidentResolvedV1,
    ReconciliationDriftedV1,
)

__all__ = [
    "ALL_BUCKETS",
    "ALL_EVENTS",
    "ALL_STREAMS",
    "MSG_ID_HEADER",
    "TRACEPARENT_HEADER",
    "ApiKeyBudgetChangedV1",
    "ApiKeyCreatedV1",
    "ApiKeyRevokedV1",
    "ApiKeyUpdatedV1",
    "BalanceExhaustedV1",
    "BalanceLowV1",
    "BudgetExceededV1",
    "CouponRedeemedV1",
    "CreditDebitedV1",
    "CreditDeductedV1",
    "CreditGrantedV1",
    "ErrorReportedV1",
    "Event",
    "IncidentOpenedV1",
    "IncidentResolvedV1",
    "KeyValueSpec",
    "ProviderAttemptV1",
    "ReconciliationDriftedV1",
    "RequestCompletedV1",
    "RequestFailedV1",
    "StreamSpec",
    "UserDeletedV1",
    "UserRegisteredV1",
    "decode",
    "decoder_for",
    "encode",
    "error_subject",
    "json_schema",
    "new_event_id",
    "subject_of",
    "utc_now",
]
