"""``python -m tollway.error_monitor serve|worker|relay|migrate``."""

from __future__ import annotations

from tollway.error_monitor.consumers import subscriptions
from tollway.error_monitor.db.tables import messaging
from tollway.error_monitor.settings import load
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    roles = standard_roles(
        "error_monitor", load, factory="tollway.error_monitor.asgi:build", tables=messaging, subscriptions=subscriptions
    )
    run_cli("error_monitor", roles)


if __name__ == "__main__":
    main()
