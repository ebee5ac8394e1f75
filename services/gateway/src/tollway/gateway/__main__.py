"""``python -m tollway.gateway serve|relay|migrate`` and the operator commands (``create-user``, ``seed-demo``...)."""

from __future__ import annotations

from tollway.gateway.commands import admin_commands
from tollway.gateway.db.tables import messaging
from tollway.gateway.mail import mail_roles
from tollway.gateway.settings import load
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    roles = standard_roles("gateway", load, factory="tollway.gateway.asgi:build", tables=messaging)
    run_cli("gateway", {**roles, **admin_commands(load), **mail_roles()})


if __name__ == "__main__":
    main()
