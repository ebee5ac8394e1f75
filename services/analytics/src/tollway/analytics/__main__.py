"""``python -m tollway.analytics serve|worker|relay|migrate``."""

from __future__ import annotations

from tollway.analytics.consumers import subscriptions
from tollway.analytics.db.tables import messaging
from tollway.analytics.settings import load
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    roles = standard_roles(
        "analytics", load, factory="tollway.analytics.asgi:build", tables=messaging, subscriptions=subscriptions
    )
    run_cli("analytics", roles)


if __name__ == "__main__":
    main()
