"""The standard roles of a service process, wired once here so every ``__main__`` stays a few lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tollway.platform import migrations
from tollway.platform.cli import Role
from tollway.platform.messaging import MessagingTables
from tollway.platform.runner import (
    SubscriptionsFactory,
    consume,
    relay_outbox,
    run_until_signalled,
    serve,
    start_process,
)
from tollway.platform.settings import InfraSettings


def standard_roles(
    service: str,
    load: Callable[[], InfraSettings],
    *,
    factory: str,
    tables: MessagingTables,
    subscriptions: SubscriptionsFactory | None = None,
    worker_redis: bool = False,
) -> dict[str, Role]:
    """``serve``, ``relay``, ``migrate`` and, for services that consume events, ``worker``."""

    def serve_role(args: Sequence[str]) -> None:
        settings = load()
        start_process(service, settings)
        serve(factory, settings, service)

    def relay_role(args: Sequence[str]) -> None:
        settings = load()
        start_process(service, settings)
        run_until_signalled(lambda stop: relay_outbox(settings, service, tables, stop))

    def migrate_role(args: Sequence[str]) -> None:
        settings = load()
        start_process(service, settings)
        migrations.upgrade(service, settings.database_url)

    roles: dict[str, Role] = {"serve": serve_role, "relay": relay_role, "migrate": migrate_role}
    if subscriptions is not None:
        subs = subscriptions

        def worker_role(args: Sequence[str]) -> None:
            settings = load()
            start_process(service, settings)
            run_until_signalled(lambda stop: consume(settings, service, tables, subs, stop, redis=worker_redis))

        roles["worker"] = worker_role
    return roles
