"""Log lines are JSON with trace ids and never carry keys, secrets or prompt text."""

from __future__ import annotations

import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from tollway.platform.logging import JsonFormatter, redact


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "t", "levelname": "INFO", "levelno": 20, "msg": msg, "args": ()})
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_line_is_json_with_service_and_extras() -> None:
    line = json.loads(JsonFormatter("billing").format(record("charged", request_id="r1", amount_micros=5)))
    assert line["service"] == "billing"
    assert line["msg"] == "charged"
    assert (line["request_id"], line["amount_micros"]) == ("r1", 5)


def test_credentials_in_messages_and_fields_are_redacted() -> None:
    key = "tw_" + "A" * 40
    line = JsonFormatter("gateway").format(
        record(
            f"auth failed for {key} with Bearer abc.def",
            authorization="Bearer xyz",
            prompt="my secret plan",
            headers={"x-api-key": key, "accept": "json"},
        )
    )
    assert key not in line
    assert "abc.def" not in line
    assert "my secret plan" not in line
    parsed = json.loads(line)
    assert parsed["headers"] == {"x-api-key": "[REDACTED]", "accept": "json"}


def test_nested_messages_are_redacted() -> None:
    assert redact({"body": {"messages": [{"role": "user", "content": "hi"}], "model": "m"}}) == {
        "body": {"messages": "[REDACTED]", "model": "m"}
    }


def test_trace_and_span_ids_are_included_inside_a_span() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("op") as span:
        line = json.loads(JsonFormatter("router").format(record("inside")))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "span_id" in line
