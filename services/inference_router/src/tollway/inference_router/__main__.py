"""``python -m tollway.inference_router serve|relay|migrate``."""

from __future__ import annotations

from tollway.inference_router.db.tables import messaging
from tollway.inference_router.settings import load
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    run_cli(
        "inference_router",
        standard_roles("inference_router", load, factory="tollway.inference_router.asgi:build", tables=messaging),
    )


if __name__ == "__main__":
    main()
