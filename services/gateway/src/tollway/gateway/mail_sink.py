"""A local SMTP sink (aiosmtpd): every message it receives becomes an ``.eml`` file under ``.run/mail/``."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

log = logging.getLogger(__name__)


class FileSink:
    """aiosmtpd handler: writes each message atomically (temp file, then rename), named by arrival order."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._counter = itertools.count(1)
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's name
        content = envelope.original_content or b""
        name = f"{time.time_ns()}-{next(self._counter):06d}.eml"
        temporary = self._directory / (name + ".part")
        temporary.write_bytes(content)
        temporary.rename(self._directory / name)
        log.info("stored a message", extra={"file": name})
        return "250 Message accepted"


async def serve_sink(host: str, port: int, directory: str, stop: asyncio.Event) -> None:
    handler = FileSink(Path(directory))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="tollway-mail-sink"), host, port)
    log.info("mail sink listening", extra={"host": host, "port": port, "directory": directory})
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
