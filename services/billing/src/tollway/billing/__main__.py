"""``python -m tollway.billing serve|worker|relay|migrate|verify``."""

from __future__ import annotations

from tollway.billing.db.tables import messaging
from tollway.billing.settings import load
from tollway.billing.verify import verify_role
from tollway.billing.worker import worker_role
from tollway.platform.cli import run_cli
from tollway.platform.roles import standard_roles


def main() -> None:
    roles = standard_roles("billing", load, factory="tollway.billing.asgi:build", tables=messaging)
    roles["worker"] = worker_role  # consumers plus the balances-bucket writer, its resync and trial expiry
    roles["verify"] = verify_role
    run_cli("billing", roles)


if __name__ == "__main__":
    main()
