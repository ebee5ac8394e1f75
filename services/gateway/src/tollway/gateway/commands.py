"""Operator commands next to the process roles: create-user, create-key, list-keys, revoke-key, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import msgspec
import nats

from tollway.gateway import handlers
from tollway.gateway.api.schemas import ApiKeyListOut, ApiKeyOut, CreatedApiKeyOut, UserOut
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.domain.api_keys import KeyDigester
from tollway.gateway.domain.errors import GatewayError
from tollway.gateway.domain.users import NewUser
from tollway.gateway.ports import EventPublisher
from tollway.gateway.settings import GatewaySettings
from tollway.platform.cli import Role
from tollway.platform.db import make_engine
from tollway.platform.logging import configure_logging
from tollway.platform.messaging import JetStreamPublisher, Namespace

ACTOR = "cli"
DEMO_EMAIL = "demo@tollway.local"
Command = Callable[[argparse.Namespace, SqlAlchemyAccountStore, GatewaySettings], Awaitable[str]]


async def create_user(args: argparse.Namespace, store: SqlAlchemyAccountStore, settings: GatewaySettings) -> str:
    user = await handlers.register_user(store, NewUser(email=args.email, display_name=args.name), actor=ACTOR)
    return _json(UserOut.of(user))


async def create_key(args: argparse.Namespace, store: SqlAlchemyAccountStore, settings: GatewaySettings) -> str:
    issued = await handlers.create_api_key(
        store, KeyDigester(settings.key_pepper), args.user_id, actor=ACTOR, name=args.name
    )
    return _json(CreatedApiKeyOut.issued(issued))


async def list_keys(args: argparse.Namespace, store: SqlAlchemyAccountStore, settings: GatewaySettings) -> str:
    keys = await handlers.list_api_keys(store, args.user_id)
    return _json(ApiKeyListOut(data=[ApiKeyOut.of(key) for key in keys]))


async def revoke_key(args: argparse.Namespace, store: SqlAlchemyAccountStore, settings: GatewaySettings) -> str:
    async with _fast_path(settings) as fast_path:
        key = await handlers.revoke_api_key(store, args.key_id, actor=ACTOR, fast_path=fast_path)
    return _json(ApiKeyOut.of(key))


async def seed_demo(args: argparse.Namespace, store: SqlAlchemyAccountStore, settings: GatewaySettings) -> str:
    """The demo user (created once) and a fresh key, as ``KEY=value`` lines for an env file."""
    user = await handlers.ensure_user(store, NewUser(email=DEMO_EMAIL, display_name="Demo user"), actor=ACTOR)
    issued = await handlers.create_api_key(store, KeyDigester(settings.key_pepper), user.id, actor=ACTOR, name="demo")
    lines = {
        "TOLLWAY_DEMO_USER_ID": user.id,
        "TOLLWAY_DEMO_API_KEY_ID": issued.api_key.id,
        "TOLLWAY_API_KEY": issued.plaintext,
    }
    return "\n".join(f"{name}={value}" for name, value in lines.items())


def _parser(name: str, help_text: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"python -m tollway.gateway {name}", description=help_text)


def _parsers() -> dict[str, tuple[argparse.ArgumentParser, Command]]:
    user = _parser("create-user", "register a user (prints it as JSON)")
    user.add_argument("--email", required=True)
    user.add_argument("--name", help="display name")
    key = _parser("create-key", "issue an API key (prints it once, as JSON with the plaintext in `key`)")
    key.add_argument("--user-id", required=True)
    key.add_argument("--name", help="a label for the key")
    listing = _parser("list-keys", "list a user's keys (never the keys themselves)")
    listing.add_argument("--user-id", required=True)
    revoke = _parser("revoke-key", "revoke a key on every replica")
    revoke.add_argument("--key-id", required=True)
    seed = _parser("seed-demo", "ensure the demo user and print a fresh key as KEY=value lines")
    return {
        "create-user": (user, create_user),
        "create-key": (key, create_key),
        "list-keys": (listing, list_keys),
        "revoke-key": (revoke, revoke_key),
        "seed-demo": (seed, seed_demo),
    }


def admin_commands(load: Callable[[], GatewaySettings]) -> dict[str, Role]:
    """The commands as roles for ``run_cli``."""

    def role(parser: argparse.ArgumentParser, command: Command) -> Role:
        def run(argv: Sequence[str]) -> None:
            args = parser.parse_args(argv)
            settings = load()
            configure_logging("gateway", "WARNING")
            sys.stdout.write(asyncio.run(_run(command, args, settings)) + "\n")

        return run

    return {name: role(parser, command) for name, (parser, command) in _parsers().items()}


async def _run(command: Command, args: argparse.Namespace, settings: GatewaySettings) -> str:
    engine = make_engine(settings.database_url, pool_size=1, application_name="gateway-cli")
    try:
        return await command(args, SqlAlchemyAccountStore(engine), settings)
    except GatewayError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        raise SystemExit(1) from None
    finally:
        await engine.dispose()


@asynccontextmanager
async def _fast_path(settings: GatewaySettings) -> AsyncIterator[EventPublisher | None]:
    """Best effort: publish the revocation now if NATS answers quickly; the outbox relay delivers it anyway."""
    try:
        nc = await nats.connect(settings.nats_url, connect_timeout=1, allow_reconnect=False, name="gateway-cli")
    except Exception:
        yield None
        return
    try:
        yield JetStreamPublisher(nc.jetstream(), Namespace(settings.namespace), timeout_s=1.0)
    finally:
        await nc.drain()


def _json(body: msgspec.Struct) -> str:
    return msgspec.json.encode(body).decode()
