"""The web console: static pages and ES modules served by the gateway at ``/console``."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
