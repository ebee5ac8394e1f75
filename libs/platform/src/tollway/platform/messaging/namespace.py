"""Prefixing of subjects, streams, durables and buckets so parallel tests (or tenants) never collide."""

from __future__ import annotations

import msgspec


class Namespace(msgspec.Struct, frozen=True):
    """``Namespace("")`` is production; ``Namespace("t3f9a")`` isolates one test's streams and subjects."""

    prefix: str = ""

    def subject(self, subject: str) -> str:
        return f"{self.prefix}.{subject}" if self.prefix else subject

    def unprefixed(self, subject: str) -> str:
        return subject.removeprefix(f"{self.prefix}.") if self.prefix else subject

    def stream(self, name: str) -> str:
        return f"{self.prefix.upper()}_{name}" if self.prefix else name

    def durable(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def bucket(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name
