"""What error_monitor's use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tollway.error_monitor.domain.records import ErrorRecord


class ErrorLog(Protocol):
    async def add_once(self, consumer: str, records: Sequence[ErrorRecord]) -> int:
        """Store records not stored before by ``consumer`` (inbox); returns how many were new."""
        ...
