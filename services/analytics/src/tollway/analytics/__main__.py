"""``python -m tollway.analytics serve|worker|relay|migrate|import-usage``."""

from __future__ import annotations

from tollway.analytics.consumers import subscriptions
from tollway.analytics.db.tables import messaging
from tollway.analytics.settings import load
from tollway.analytics.usage_import_role import import_usage_role
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    roles = standard_roles(
        "analytics", load, factory="tollway.analytics.asgi:build", tables=messaging, subscriptions=subscriptions
    )
    run_cli("analytics", {**roles, "import-usage": import_usage_role})


if __name__ == "__main__":
    main()
