"""Writes the JSON Schema snapshot of every event and bucket value (``make contracts-snapshot``); tests compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tollway.contracts import ALL_EVENTS, json_schema, subject_of
from tollway.contracts.streams import BUCKET_VALUES


def render(event_type: type) -> str:
    return json.dumps(json_schema(event_type), indent=2, sort_keys=True) + "\n"


def write_snapshots(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in ALL_EVENTS:
        path = folder / f"{subject_of(event_type)}.json"
        path.write_text(render(event_type))
        written.append(path)
    values = folder.parent / "buckets"
    values.mkdir(exist_ok=True)
    for bucket, value_type in BUCKET_VALUES.items():
        path = values / f"{bucket}.json"
        path.write_text(render(value_type))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_snapshots(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/contract/schemas")):
        sys.stdout.write(f"wrote {path}\n")
