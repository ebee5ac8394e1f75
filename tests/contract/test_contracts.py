"""Event contracts: golden samples decode, schemas match their snapshots, tags equal subjects."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tollway.contracts import ALL_EVENTS, ALL_STREAMS, ErrorReportedV1, Event, decode, encode, error_subject, subject_of
from tollway.contracts.streams import BUCKET_VALUES
from tollway.testing.contract_snapshots import render

HERE = Path(__file__).parent
BY_SUBJECT = {subject_of(event_type): event_type for event_type in ALL_EVENTS}
SAMPLES = sorted((HERE / "samples").glob("*/*.json"))


def test_every_event_has_a_sample_and_a_snapshot() -> None:
    sampled = {path.parent.name for path in SAMPLES}
    snapshots = {path.stem for path in (HERE / "schemas").glob("*.json")}
    assert sampled == set(BY_SUBJECT)
    assert snapshots == set(BY_SUBJECT)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_sample_decodes_and_round_trips(path: Path) -> None:
    event_type = BY_SUBJECT[path.parent.name]
    event = decode(event_type, path.read_bytes())
    assert decode(event_type, encode(event)) == event
    assert json.loads(encode(event))["type"] == path.parent.name


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda t: t.__name__)
def test_schema_matches_snapshot(event_type: type[Event]) -> None:
    snapshot = HERE / "schemas" / f"{subject_of(event_type)}.json"
    assert render(event_type) == snapshot.read_text(), "contract changed: run `make contracts-snapshot` and review"


@pytest.mark.parametrize("bucket", sorted(BUCKET_VALUES))
def test_bucket_value_matches_snapshot(bucket: str) -> None:
    snapshot = HERE / "buckets" / f"{bucket}.json"
    assert render(BUCKET_VALUES[bucket]) == snapshot.read_text(), "contract changed: run `make contracts-snapshot`"


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda t: t.__name__)
def test_type_tag_is_the_subject_and_the_class_is_versioned(event_type: type[Event]) -> None:
    subject = subject_of(event_type)
    assert subject.endswith(".v" + event_type.__name__.rsplit("V", 1)[1])
    if event_type is not ErrorReportedV1:  # published on <service>.error.reported.v1
        assert subject.split(".")[0] in {"gateway", "router", "billing", "analytics", "error_monitor"}


def test_a_sample_with_the_wrong_type_is_rejected() -> None:
    payload = (HERE / "samples" / "gateway.user.registered.v1" / "minimal.json").read_bytes()
    with pytest.raises(msgspec.ValidationError):
        decode(BY_SUBJECT["billing.credit.debited.v1"], payload)


@pytest.mark.parametrize("service", ["gateway", "inference_router", "billing", "analytics", "error_monitor"])
def test_error_reports_land_in_the_producers_own_stream(service: str) -> None:
    subject = error_subject(service)
    captured = [stream for stream in ALL_STREAMS if any(subject.startswith(s[:-1]) for s in stream.subjects)]
    assert len(captured) == 1, f"{subject} is captured by {captured}"
