"""AWS event-stream framing (``application/vnd.amazon.eventstream``): the binary stream ConverseStream answers with.

Each message: total length, headers length, a CRC32 of those eight bytes, the headers (name, type 7 = string,
value), the payload, then a CRC32 of everything before it; botocore's ``EventStreamBuffer`` reads it back.
"""

from __future__ import annotations

import binascii
import struct

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack("!I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", binascii.crc32(message))


def event_frame(event_type: str, payload: bytes) -> bytes:
    """A stream event such as ``contentBlockDelta`` with its JSON payload."""
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, payload)


def exception_frame(exception_type: str, payload: bytes) -> bytes:
    """A failure inside a started stream, e.g. ``throttlingException`` (botocore raises ``EventStreamError``)."""
    headers = {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, payload)
