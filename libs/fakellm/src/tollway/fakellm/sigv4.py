"""Checks AWS Signature Version 4 on Bedrock calls, recomputing the signature with botocore's own signer.

The fake knows one key pair (``FAKELLM_AWS_ACCESS_KEY_ID`` / ``FAKELLM_AWS_SECRET_ACCESS_KEY``, defaults below):
a request signed with another key, over other headers or another body, or more than 15 minutes off, is refused
as AWS refuses it (403 with ``x-amzn-ErrorType``), so a client that signs wrongly fails here too.
"""

import hmac
import os
import re
from datetime import UTC, datetime

import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tollway.fakellm.responses import Headers

DEFAULT_ACCESS_KEY_ID = "AKIAFAKELLMEXAMPLE00"
DEFAULT_SECRET_ACCESS_KEY = "fakellm/secret/access/key/EXAMPLE"  # noqa: S105 - a published test value
SERVICE = "bedrock"
MAX_SKEW_S = 15 * 60

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureRejectedError(Exception):
    """Why the signature does not hold; ``error_type`` is the AWS error name to answer with."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class KeyPair(msgspec.Struct, frozen=True):
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY


def key_pair(environ: dict[str, str] | None = None) -> KeyPair:
    env = os.environ if environ is None else environ
    return KeyPair(
        env.get("FAKELLM_AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID),
        env.get("FAKELLM_AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY),
    )


class SignedCall(msgspec.Struct, frozen=True):
    """A request as it arrived: the path still percent-encoded, as the client signed it."""

    method: str
    raw_path: bytes
    headers: Headers
    body: bytes


def verify(call: SignedCall, keys: KeyPair, now: datetime) -> str:
    """The signing region when the request's SigV4 signature is valid; raises ``SignatureRejectedError``."""
    values = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in call.headers}
    found = _AUTHORIZATION.match(values.get("authorization", ""))
    if found is None:
        raise SignatureRejectedError("MissingAuthenticationTokenException", "Missing or malformed SigV4 authorization")
    if found["key"] != keys.access_key_id:
        raise SignatureRejectedError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if found["service"] != SERVICE:
        raise SignatureRejectedError(
            "InvalidSignatureException", f"Credential should be scoped to service '{SERVICE}'."
        )
    timestamp = values.get("x-amz-date", "")
    _check_time(timestamp, found["date"], now)
    signed = {name: values.get(name, "") for name in found["signed"].split(";")}
    expected = _signature(call, signed, keys, region=found["region"], timestamp=timestamp)
    if not hmac.compare_digest(expected, found["signature"]):
        raise SignatureRejectedError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return found["region"]


def _check_time(timestamp: str, scope_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejectedError("InvalidSignatureException", "X-Amz-Date is missing or malformed") from None
    if timestamp[:8] != scope_date:
        raise SignatureRejectedError("InvalidSignatureException", "Credential date does not match X-Amz-Date")
    if abs((now - signed_at).total_seconds()) > MAX_SKEW_S:
        raise SignatureRejectedError("InvalidSignatureException", "Signature expired")


def _signature(call: SignedCall, signed: dict[str, str], keys: KeyPair, *, region: str, timestamp: str) -> str:
    # Rebuild the request exactly as the client saw it (encoded path, only the signed headers), then let
    # botocore compute what the signature must be: the fake shares no signing code of its own with clients.
    url = f"http://{signed.get('host', '')}{call.raw_path.decode('latin-1')}"
    request = AWSRequest(method=call.method, url=url, headers=signed, data=call.body)
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(keys.access_key_id, keys.secret_access_key), SERVICE, region)
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))
