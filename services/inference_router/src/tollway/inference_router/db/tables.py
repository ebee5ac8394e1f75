"""Tables of the ``inference_router`` schema (migrations in ``migrations/inference_router``)."""

from __future__ import annotations

from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("inference_router")
messaging = MessagingTables(metadata)
