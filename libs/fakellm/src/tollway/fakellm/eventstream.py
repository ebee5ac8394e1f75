"""AWS event-stream framing (``application/vnd.amazon.eventstream``), the binary stream Bedrock answers with.

Each message: total length, headers length, prelude CRC, headers (name, type 7 = string, value), payload,
then a CRC32 of everything before it. botocore's ``EventStreamBuffer`` is the reader this must satisfy.
"""

import binascii
import struct

_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value


def message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack("!I", binascii.crc32(body))


def event(event_type: str, payload: bytes) -> bytes:
    """A normal stream event, e.g. ``contentBlockDelta`` with its JSON payload."""
    return message({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload)


def exception(exception_type: str, payload: bytes) -> bytes:
    """An error reported inside a started stream, e.g. ``throttlingException``."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return message(headers, payload)
