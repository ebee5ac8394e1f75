"""The operator commands as real subprocesses: ``python -m tollway.gateway create-user|create-key|...``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import PEPPER
from tollway.gateway.db.tables import api_keys, messaging
from tollway.gateway.domain.api_keys import KeyDigester, is_well_formed
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import service_env


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}

    async def run(self, *args: str, expect: int = 0) -> tuple[str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tollway.gateway",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == expect, err.decode()
        return out.decode(), err.decode()

    async def json(self, *args: str) -> Any:
        out, _ = await self.run(*args)
        return json.loads(out)


@pytest.fixture
def cli(database_url: str, test_infra: LocalInfra, namespace: Namespace) -> Cli:
    env = service_env(
        "gateway",
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
        key_pepper=PEPPER,
    )
    return Cli(env)


async def test_create_user_key_list_and_revoke(cli: Cli, engine: AsyncEngine) -> None:
    user = await cli.json("create-user", "--email", "Ada@Example.com", "--name", "Ada Lovelace")
    assert (user["email"], user["display_name"]) == ("ada@example.com", "Ada Lovelace")

    key = await cli.json("create-key", "--user-id", user["id"], "--name", "laptop")
    assert is_well_formed(key["key"])
    async with engine.connect() as conn:
        digest = (await conn.execute(select(api_keys.c.digest))).scalar_one()
    assert digest == KeyDigester(PEPPER).digest(key["key"])

    listing, _ = await cli.run("list-keys", "--user-id", user["id"])
    assert key["key"] not in listing
    assert [k["name"] for k in json.loads(listing)["data"]] == ["laptop"]

    revoked = await cli.json("revoke-key", "--key-id", key["id"])
    assert revoked["revoked_at"] is not None
    async with engine.connect() as conn:
        subjects = (await conn.execute(select(messaging.outbox.c.subject).order_by(messaging.outbox.c.seq))).scalars()
        assert list(subjects) == [
            "gateway.user.registered.v1",
            "gateway.api_key.created.v1",
            "gateway.api_key.revoked.v1",
        ]


async def test_errors_exit_non_zero_with_a_message(cli: Cli) -> None:
    _, err = await cli.run("create-key", "--user-id", "usr_missing", expect=1)
    assert "no user with id 'usr_missing'" in err
    assert "Traceback" not in err
    await cli.run("create-user", "--email", "ada@example.com")
    _, err = await cli.run("create-user", "--email", "ada@example.com", expect=1)
    assert "already exists" in err


async def test_seed_demo_is_idempotent_and_prints_env_lines(cli: Cli, engine: AsyncEngine) -> None:
    first, _ = await cli.run("seed-demo")
    second, _ = await cli.run("seed-demo")
    a = dict(line.split("=", 1) for line in first.strip().splitlines())
    b = dict(line.split("=", 1) for line in second.strip().splitlines())

    assert set(a) == {"TOLLWAY_DEMO_USER_ID", "TOLLWAY_DEMO_API_KEY_ID", "TOLLWAY_API_KEY"}
    assert a["TOLLWAY_DEMO_USER_ID"] == b["TOLLWAY_DEMO_USER_ID"]
    assert a["TOLLWAY_API_KEY"] != b["TOLLWAY_API_KEY"]
    assert is_well_formed(a["TOLLWAY_API_KEY"])
    async with engine.connect() as conn:
        count = len((await conn.execute(select(api_keys.c.id))).all())
    assert count == 2
