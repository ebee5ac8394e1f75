"""Reset mail through the real path (outbox → aiosmtplib → aiosmtpd sink → .eml file) and external sign-in via JWKS."""

from __future__ import annotations

import asyncio
import email
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.gateway.conftest import Client, ClientFactory
from tests.integration.gateway.test_accounts_api import PASSWORD, login, register
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.mail import SmtpSender, send_due
from tollway.gateway.mail_sink import serve_sink
from tollway.gateway.settings import GatewaySettings
from tollway.testing.processes import free_port

ISSUER = "https://id.example.test"
AUDIENCE = "tollway-test"


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve_sink("127.0.0.1", port, str(tmp_path / "mail"), stop))
    await asyncio.sleep(0.1)
    yield port, tmp_path / "mail"
    stop.set()
    await task


async def test_reset_mail_reaches_the_sink_and_its_token_resets(
    client: Client, store: SqlAlchemyAccountStore, settings: GatewaySettings, sink: tuple[int, Path]
) -> None:
    port, directory = sink
    await register(client)
    assert (await client.post("/v1/auth/password-reset", json={"email": "ada@example.com"})).status_code == 202

    sender = SmtpSender(GatewaySettings(**{**_fields(settings), "smtp_port": port}))
    assert await send_due(store, sender) == 1
    assert await send_due(store, sender) == 0  # sent once; the body is gone from the outbox

    [path] = sorted(directory.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes())
    assert (message["To"], message["Subject"]) == ("ada@example.com", "Reset your Tollway password")
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "/console/#/reset?token=twp_" in body
    token = next(word for word in body.split() if word.startswith("twp_"))
    new_password = "another long passphrase 7"
    done = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password})
    assert done.status_code == 200
    await login(client, password=new_password)


async def test_mail_to_an_unreachable_server_is_retried_later(
    client: Client, store: SqlAlchemyAccountStore, settings: GatewaySettings
) -> None:
    await register(client)
    await client.post("/v1/auth/password-reset", json={"email": "ada@example.com"})
    sender = SmtpSender(GatewaySettings(**{**_fields(settings), "smtp_port": free_port()}))
    assert await send_due(store, sender) == 0
    assert await send_due(store, sender) == 0  # backed off: not due again at once


@pytest.fixture
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """The issuer's key set over HTTP, in a thread: the app under test runs on another event loop."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()


def id_token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ext-1", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


async def test_external_sign_in_verifies_signature_issuer_audience_and_expiry(
    gateway: ClientFactory, signing_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    external = {"external_issuer": ISSUER, "external_audience": AUDIENCE, "external_jwks_url": jwks_url}
    async with gateway(**external) as client:
        first = await client.post("/v1/auth/external", json={"id_token": id_token(signing_key, email="e@example.com")})
        assert first.status_code == 201, first.text
        assert first.json()["api_key"]["key"].startswith("tw_")
        assert first.json()["user"]["email"] is None  # the provider did not say the email was verified
        again = await client.post("/v1/auth/external", json={"id_token": id_token(signing_key)})
        assert again.status_code == 200
        assert again.json()["user"]["id"] == first.json()["user"]["id"]
        assert again.json()["api_key"] is None

        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = int(time.time())
        refused = [
            id_token(other),
            id_token(signing_key, iss="https://evil.example"),
            id_token(signing_key, aud="someone-else"),
            id_token(signing_key, exp=now - 120, iat=now - 600),
            jwt.encode(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60},
                "a-shared-secret-that-is-long-enough-0123",
                algorithm="HS256",
            ),
            "not-a-jwt",
        ]
        for token in refused:
            response = await client.post("/v1/auth/external", json={"id_token": token})
            assert response.status_code == 401, response.text


async def test_verified_external_email_links_the_existing_account(
    gateway: ClientFactory, signing_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    external = {"external_issuer": ISSUER, "external_audience": AUDIENCE, "external_jwks_url": jwks_url}
    async with gateway(**external) as client:
        registered = await register(client)
        token = id_token(signing_key, sub="ext-2", email="ADA@example.com", email_verified=True)
        linked = await client.post("/v1/auth/external", json={"id_token": token})
        assert linked.status_code == 200
        assert linked.json()["user"]["id"] == registered["user"]["id"]
        await login(client, password=PASSWORD)


async def test_external_sign_in_is_off_unless_configured(client: Client) -> None:
    response = await client.post("/v1/auth/external", json={"id_token": "x.y.z"})
    assert response.status_code == 403


def _fields(settings: GatewaySettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}
