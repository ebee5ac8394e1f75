"""Session access tokens (HS256 JWTs, 15 min) and external ID tokens verified against the issuer's JWKS."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import jwt

from tollway.gateway.domain.accounts import InvalidTokenError
from tollway.gateway.domain.accounts_records import AccessClaims, ExternalClaims

ISSUER = "tollway-gateway"
ACCESS_TYPE = "access"
ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]  # never "none" or HS*: the key is public


class AccessTokens:
    """Signs and checks the gateway's own access tokens; the session row decides whether one still counts."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        if len(secret) < 32:
            raise ValueError("GATEWAY_SESSION_SECRET must be at least 32 characters")
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, session_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user_id,
            "sid": session_id,
            "typ": ACCESS_TYPE,
            "iat": now,
            "exp": now + self.ttl_s,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "sid"]}
            )
        except jwt.PyJWTError:
            raise InvalidTokenError("the access token is invalid or expired") from None
        if claims.get("typ") != ACCESS_TYPE:
            raise InvalidTokenError("not an access token")
        return AccessClaims(user_id=str(claims["sub"]), session_id=str(claims["sid"]))


class ExternalVerifier:
    """Checks an identity provider's ID token: signature from its JWKS, issuer, audience, expiry.

    The key set is fetched with the shared aiohttp session (PyJWT's own client is blocking urllib), kept for
    ``ttl_s``, and fetched again at once when a token names an unknown ``kid`` (the issuer rotated its keys).
    """

    def __init__(self, http: aiohttp.ClientSession, *, issuer: str, audience: str, jwks_url: str, ttl_s: float = 300):
        self._http = http
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._ttl_s = ttl_s
        self._keys: jwt.PyJWKSet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def verify(self, id_token: str) -> ExternalClaims:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise InvalidTokenError("the id_token is not a JWT") from None
        if header.get("alg") not in ASYMMETRIC:
            raise InvalidTokenError("the id_token must be signed with the issuer's public key")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[header["alg"]],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"the id_token was refused: {type(exc).__name__}") from None
        email = claims.get("email")
        return ExternalClaims(
            issuer=self._issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        )

    async def _key(self, kid: str) -> jwt.PyJWK:
        keys = await self._key_set(force=False)
        found = _find(keys, kid)
        if found is None:
            found = _find(await self._key_set(force=True), kid)
        if found is None:
            raise InvalidTokenError("the id_token is signed with a key the issuer does not publish")
        return found

    async def _key_set(self, *, force: bool) -> jwt.PyJWKSet:
        async with self._lock:
            fresh = self._keys is not None and time.monotonic() - self._fetched_at < self._ttl_s
            if self._keys is not None and fresh and not force:
                return self._keys
            try:
                async with self._http.get(self._jwks_url, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                    answer.raise_for_status()
                    document = await answer.json(content_type=None)
                self._keys = jwt.PyJWKSet.from_dict(document)
                self._fetched_at = time.monotonic()
            except (aiohttp.ClientError, TimeoutError, jwt.PyJWTError, ValueError):
                if self._keys is None:
                    raise InvalidTokenError("the identity provider's keys cannot be fetched right now") from None
            return self._keys


def _find(keys: jwt.PyJWKSet, kid: str) -> jwt.PyJWK | None:
    return next((key for key in keys.keys if key.key_id == kid or (not kid and len(keys.keys) == 1)), None)
