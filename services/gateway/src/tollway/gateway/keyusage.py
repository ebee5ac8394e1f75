"""Key use tracking off the request path: ids collected in memory, written to ``last_used_at`` in batches."""

from __future__ import annotations


class InMemoryKeyUsage:
    """A set of key ids used since the last flush: O(1) per request, one UPDATE per flush."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def note(self, api_key_id: str) -> None:
        self._used.add(api_key_id)

    def drain(self) -> set[str]:
        used, self._used = self._used, set()
        return used
