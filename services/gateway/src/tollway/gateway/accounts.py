"""Account use cases: register, sign in, sessions, password reset, external sign-in and profile."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta

from tollway.contracts import (
    ApiKeyBudgetChangedV1,
    ApiKeyCreatedV1,
    ApiKeyUpdatedV1,
    Event,
    UserRegisteredV1,
    utc_now,
)
from tollway.gateway.accounts_ports import AccountPorts, AccountsUnitOfWork
from tollway.gateway.domain import api_keys as key_format
from tollway.gateway.domain.accounts import (
    ALL_SCOPES,
    REFRESH_TOKEN_PREFIX,
    RESET_TOKEN_PREFIX,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    KeySettings,
    Principal,
    TooManyAttemptsError,
    UnprocessableError,
    check_password,
    new_secret,
)
from tollway.gateway.domain.accounts_passwords import hash_password, verify_password
from tollway.gateway.domain.accounts_records import Mail, Session
from tollway.gateway.domain.api_keys import ApiKey, IssuedKey
from tollway.gateway.domain.audit import AuditEntry, AuditEvent
from tollway.gateway.domain.errors import EmailTakenError, InvalidInputError
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_api_key_id, new_session_id, new_user_id
from tollway.gateway.domain.users import ROUTING_STRATEGIES, NewUser, User, normalise_email, validated

log = logging.getLogger(__name__)
FIRST_KEY_NAME = "Primary key"


class SignedIn:
    """A new or refreshed session: the access token, the refresh token (shown once) and who it belongs to."""

    def __init__(self, user: User, access_token: str, refresh_token: str, expires_in: int) -> None:
        self.user = user
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.first_key: IssuedKey | None = None


# --- identity -------------------------------------------------------------------------------------------------


async def register_account(
    ports: AccountPorts, email: str, password: str, name: str | None, *, address: str
) -> tuple[User, IssuedKey]:
    """A user with a password and a first key (all scopes), in one transaction with both events."""
    await _throttled(ports, "register", address, ports.policy.register_max_per_address, 3_600)
    new = validated(NewUser(email=email, display_name=name))
    if new.email is None:
        raise InvalidInputError("email is required", "email")
    check_password(password, email=new.email)
    password_hash = await asyncio.to_thread(hash_password, password)
    user = _new_user(new)
    issued = issue_key(ports, user.id, KeySettings(name=FIRST_KEY_NAME))
    async with ports.store.transaction() as uow:
        if not await uow.accounts.add(user, password_hash=password_hash):
            raise EmailTakenError
        await _store_user_events(uow, user, issued, actor="self_service")
    return user, issued


async def sign_in(ports: AccountPorts, email: str, password: str, *, address: str) -> SignedIn:
    """Password sign-in, throttled per account and per address; failures look the same whatever the cause."""
    account = _digest_subject(normalise_email(email))
    await _throttled(ports, "login_addr", address, ports.policy.login_max_per_address, ports.policy.login_window_s)
    blocked = await ports.throttle.blocked_for("login_acct", account, ports.policy.login_max_failures)
    if blocked:
        raise TooManyAttemptsError("too many failed sign-ins for this account; try again later", blocked)
    async with ports.store.transaction() as uow:
        found = await uow.accounts.credentials(normalise_email(email))
    user, stored = found if found is not None else (None, None)
    if not await asyncio.to_thread(verify_password, stored, password) or user is None:
        await ports.throttle.hit("login_acct", account, ports.policy.login_window_s)
        await _audit(ports, AuditEvent.LOGIN_FAILED, "unknown", None if user is None else user.id)
        raise InvalidCredentialsError("email or password is incorrect")
    if not user.is_active:
        raise ForbiddenError("this account is deactivated")
    await ports.throttle.clear("login_acct", account)
    return await _open_session(ports, user, AuditEvent.LOGIN_SUCCEEDED)


async def refresh_session(ports: AccountPorts, refresh_token: str) -> SignedIn:
    """A new token pair; the presented refresh token stops working. Replaying an old one ends the session."""
    digest = ports.digester.digest(refresh_token)
    now = utc_now()
    new_refresh = new_secret(REFRESH_TOKEN_PREFIX)
    async with ports.store.transaction() as uow:
        found = await uow.sessions.by_refresh(digest)
        if found is None or not found[0].is_live(now):
            raise InvalidTokenError("the refresh token is invalid or expired")
        session, current = found
        if not current:
            # A rotated-out token came back: someone holds a copy. End the session for both holders.
            await uow.sessions.revoke(session.id, now)
            await uow.audit.record(_entry(AuditEvent.REFRESH_REUSED, "unknown", session.user_id))
        elif await uow.sessions.rotate(session.id, digest, ports.digester.digest(new_refresh)):
            owner = await uow.sessions.owner(session.id, now)
            user = await uow.users.get(session.user_id)
            if owner is not None and owner.is_active and user is not None:
                access = ports.tokens.issue(user.id, session.id)
                return SignedIn(user, access, new_refresh, ports.tokens.ttl_s)
    raise InvalidTokenError("the refresh token is invalid or expired")


async def sign_out(ports: AccountPorts, principal: Principal | None, refresh_token: str | None) -> None:
    """End the caller's session (or the one the refresh token belongs to); idempotent."""
    now = utc_now()
    async with ports.store.transaction() as uow:
        if principal is not None and principal.session_id is not None:
            await uow.sessions.revoke(principal.session_id, now)
        if refresh_token:
            found = await uow.sessions.by_refresh(ports.digester.digest(refresh_token))
            if found is not None:
                await uow.sessions.revoke(found[0].id, now)


async def request_password_reset(ports: AccountPorts, email: str, *, address: str) -> None:
    """Always succeeds for the caller; an active account gets a single-use link by mail (outbox, same transaction)."""
    await _throttled(ports, "reset", address, ports.policy.reset_max_per_address, 3_600)
    normalised = normalise_email(email)
    token = new_secret(RESET_TOKEN_PREFIX)
    now = utc_now()
    async with ports.store.transaction() as uow:
        found = await uow.accounts.credentials(normalised)
        if found is None or not found[0].is_active or found[0].email is None:
            return
        user = found[0]
        expires = now + timedelta(seconds=ports.policy.reset_ttl_s)
        await uow.password_resets.add(user.id, ports.digester.digest(token), expires)
        await uow.mail.stage(_reset_mail(ports, found[0].email or normalised, token))
        await uow.audit.record(_entry(AuditEvent.PASSWORD_RESET_REQUESTED, "self_service", user.id))


async def confirm_password_reset(ports: AccountPorts, token: str, new_password: str) -> None:
    """Use the token once: the password really changes and every session of the user ends."""
    now = utc_now()
    digest = ports.digester.digest(token)
    async with ports.store.transaction() as uow:
        reset = await uow.password_resets.take(digest, now)
        if reset is None:
            raise InvalidTokenError("the reset link is invalid, used or expired", "token")
        user = await uow.users.get(reset.user_id)
        if user is None or not user.is_active:
            raise InvalidTokenError("the reset link is invalid, used or expired", "token")
        check_password(new_password, email=user.email)  # raising rolls the token back: it stays usable
        await uow.accounts.set_password(user.id, await asyncio.to_thread(hash_password, new_password))
        await uow.password_resets.void_all(user.id, now)
        ended = await uow.sessions.revoke_all(user.id, now)
        detail = {"sessions_ended": str(ended)}
        await uow.audit.record(_entry(AuditEvent.PASSWORD_RESET, "self_service", user.id, detail=detail))


async def sign_in_external(ports: AccountPorts, id_token: str) -> SignedIn:
    """Login-or-register with a verified ID token; an existing account is linked only through a verified email."""
    if ports.external is None:
        raise ForbiddenError("external sign-in is not configured on this deployment")
    claims = await ports.external.verify(id_token)
    subject = f"{claims.issuer}|{claims.subject}"
    email = normalise_email(claims.email) if claims.email else None
    async with ports.store.transaction() as uow:
        user = await uow.accounts.by_external_subject(subject)
        if user is None and email is not None and claims.email_verified:
            found = await uow.accounts.credentials(email)
            if found is not None:
                user = found[0]
                await uow.accounts.link_external(user.id, subject)
    if user is not None:
        if not user.is_active:
            raise ForbiddenError("this account is deactivated")
        return await _open_session(ports, user, AuditEvent.LOGIN_SUCCEEDED)
    return await _register_external(ports, subject, email if claims.email_verified else None, claims.name)


async def _register_external(ports: AccountPorts, subject: str, email: str | None, name: str | None) -> SignedIn:
    user = _new_user(validated(NewUser(email=email, display_name=(name or "")[:200] or None)))
    issued = issue_key(ports, user.id, KeySettings(name=FIRST_KEY_NAME))
    async with ports.store.transaction() as uow:
        if not await uow.accounts.add(user, password_hash=None, external_subject=subject):
            # The email belongs to an unverified-link account, or a concurrent sign-in won: no email then.
            user = _new_user(NewUser(display_name=user.display_name))
            issued = issue_key(ports, user.id, KeySettings(name=FIRST_KEY_NAME))
            if not await uow.accounts.add(user, password_hash=None, external_subject=subject):
                raise InvalidTokenError("this identity is being signed in concurrently; retry")
        await _store_user_events(uow, user, issued, actor="external_sign_in")
    signed = await _open_session(ports, user, AuditEvent.LOGIN_SUCCEEDED)
    signed.first_key = issued
    return signed


async def resolve_session(ports: AccountPorts, access_token: str) -> Principal:
    """The principal of a live session's access token (one query: the session must still exist and be live)."""
    claims = ports.tokens.verify(access_token)
    async with ports.store.transaction() as uow:
        owner = await uow.sessions.owner(claims.session_id, utc_now())
    if owner is None or not owner.is_active or owner.user_id != claims.user_id:
        raise InvalidTokenError("the session has ended; sign in again")
    return Principal(user_id=owner.user_id, role=owner.role, scopes=ALL_SCOPES, session_id=owner.session_id)


def key_principal(identity: Identity, role: str) -> Principal:
    return Principal(user_id=identity.user_id, role=role, scopes=identity.scopes, api_key_id=identity.api_key_id)


async def role_of(ports: AccountPorts, user_id: str) -> str:
    async with ports.store.transaction() as uow:
        user = await uow.users.get(user_id)
    return "user" if user is None else user.role


async def get_me(ports: AccountPorts, principal: Principal) -> User:
    async with ports.store.transaction() as uow:
        user = await uow.users.get(principal.user_id)
    if user is None:
        raise InvalidTokenError("the account no longer exists")
    return user


async def update_me(ports: AccountPorts, principal: Principal, changes: dict[str, str | None]) -> User:
    """Only the allow-listed profile fields (the API refuses anything else with 422)."""
    if "display_name" in changes:
        name = (changes["display_name"] or "").strip() or None
        if name is not None and len(name) > 200:
            raise UnprocessableError("display_name is longer than 200 characters", "display_name")
        changes["display_name"] = name
    if "routing_strategy" in changes and changes["routing_strategy"] not in ROUTING_STRATEGIES:
        raise UnprocessableError(f"routing_strategy must be one of {', '.join(ROUTING_STRATEGIES)}", "routing_strategy")
    async with ports.store.transaction() as uow:
        user = (
            await uow.accounts.update(principal.user_id, changes) if changes else await uow.users.get(principal.user_id)
        )
        if user is None:
            raise InvalidTokenError("the account no longer exists")
        await uow.audit.record(
            _entry(AuditEvent.PROFILE_UPDATED, actor_of(principal), user.id, detail=changed_names(changes))
        )
        # Routing strategy travels in cached identities: every replica re-reads this user's keys.
        events = await stage_key_updates(uow, [user.id]) if "routing_strategy" in changes else []
    await publish_now(ports, events)
    return user


# --- shared pieces --------------------------------------------------------------------------------------------


BUDGET_FIELDS = frozenset({"spend_limit_day_micros", "spend_limit_month_micros"})


def budget_events(key: ApiKey, *, always: bool = False) -> list[Event]:
    """Billing's copy of a key's limits: on issue when it has one, and on every change of either (None clears)."""
    day, month = key.spend_limit_day_micros, key.spend_limit_month_micros
    if day is None and month is None and not always:
        return []
    changed = ApiKeyBudgetChangedV1(
        api_key_id=key.id, user_id=key.user_id, spend_limit_day_micros=day, spend_limit_month_micros=month
    )
    return [changed]


def issue_key(ports: AccountPorts, user_id: str, settings: KeySettings) -> IssuedKey:
    plaintext = key_format.generate_key()
    key = ApiKey(
        id=new_api_key_id(),
        user_id=user_id,
        digest=ports.digester.digest(plaintext),
        display_prefix=key_format.display_prefix(plaintext),
        created_at=utc_now(),
        name=settings.name,
        expires_at=settings.expires_at,
        scopes=settings.scopes,
        allowed_models=settings.allowed_models,
        ip_allowlist=settings.ip_allowlist,
        spend_limit_day_micros=settings.spend_limit_day_micros,
        spend_limit_month_micros=settings.spend_limit_month_micros,
    )
    return IssuedKey(api_key=key, plaintext=plaintext)


def _new_user(new: NewUser) -> User:
    return User(
        id=new_user_id(),
        email=new.email,
        display_name=new.display_name,
        routing_strategy=new.routing_strategy,
        is_active=True,
        created_at=utc_now(),
    )


async def _store_user_events(uow: AccountsUnitOfWork, user: User, issued: IssuedKey, *, actor: str) -> None:
    key = issued.api_key
    await uow.api_keys.add(key)
    await uow.outbox.stage(
        [
            UserRegisteredV1(user_id=user.id, email=user.email, display_name=user.display_name),
            ApiKeyCreatedV1(api_key_id=key.id, user_id=user.id, display_prefix=key.display_prefix),
        ]
    )
    await uow.audit.record(_entry(AuditEvent.USER_REGISTERED, actor, user.id))
    await uow.audit.record(key_entry(AuditEvent.KEY_CREATED, actor, key))


async def _open_session(ports: AccountPorts, user: User, event: AuditEvent) -> SignedIn:
    refresh = new_secret(REFRESH_TOKEN_PREFIX)
    session = Session(
        id=new_session_id(),
        user_id=user.id,
        refresh_digest=ports.digester.digest(refresh),
        expires_at=datetime.now(UTC) + timedelta(seconds=ports.policy.session_ttl_s),
    )
    async with ports.store.transaction() as uow:
        await uow.sessions.add(session)
        await uow.audit.record(_entry(event, "self_service", user.id))
    return SignedIn(user, ports.tokens.issue(user.id, session.id), refresh, ports.tokens.ttl_s)


async def stage_key_updates(uow: AccountsUnitOfWork, user_ids: list[str]) -> list[Event]:
    events: list[Event] = [
        ApiKeyUpdatedV1(api_key_id=key_id, user_id=user_id)
        for key_id, user_id in await uow.account_keys.usable_ids(user_ids)
    ]
    if events:
        await uow.outbox.stage(events)
    return events


async def publish_now(ports: AccountPorts, events: list[Event]) -> None:
    """The cache-eviction fast path (same event ids as the outbox rows, so JetStream drops the relay's copies)."""
    if ports.fast_path is None:
        return
    for event in events:
        try:
            await ports.fast_path.publish(event)
        except Exception as exc:  # committed already: the relay delivers it
            log.warning("key change fast path failed (%s); the outbox relay will deliver it", type(exc).__name__)
            return


async def _throttled(ports: AccountPorts, bucket: str, address: str, limit: int, window_s: int) -> None:
    blocked = await ports.throttle.blocked_for(bucket, address, limit)
    if blocked:
        raise TooManyAttemptsError("too many attempts from this address; try again later", blocked)
    await ports.throttle.hit(bucket, address, window_s)


async def _audit(ports: AccountPorts, event: AuditEvent, actor: str, user_id: str | None) -> None:
    async with ports.store.transaction() as uow:
        await uow.audit.record(_entry(event, actor, user_id))


def _reset_mail(ports: AccountPorts, recipient: str, token: str) -> Mail:
    link = f"{ports.policy.public_url.rstrip('/')}/console/#/reset?token={token}"
    minutes = ports.policy.reset_ttl_s // 60
    body = (
        "Someone (hopefully you) asked to reset the password of your Tollway account.\n\n"
        f"Choose a new password here within {minutes} minutes:\n{link}\n\n"
        f"Or send the token to POST /v1/auth/password-reset/confirm:\n{token}\n\n"
        "The link works once. If you did not ask for it, ignore this mail: your password stays as it is.\n"
    )
    return Mail(recipient=recipient, subject="Reset your Tollway password", body=body)


def _digest_subject(text: str) -> str:
    # Throttle keys in Redis never hold an email address.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def actor_of(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def changed_names(changes: dict[str, object] | dict[str, str | None]) -> dict[str, str]:
    return {"fields": ",".join(sorted(changes))}


def _entry(event: AuditEvent, actor: str, user_id: str | None, *, detail: dict[str, str] | None = None) -> AuditEntry:
    return AuditEntry(event=event, actor=actor, user_id=user_id, detail=detail or {})


def key_entry(event: AuditEvent, actor: str, key: ApiKey, *, detail: dict[str, str] | None = None) -> AuditEntry:
    return AuditEntry(event=event, actor=actor, user_id=key.user_id, api_key_id=key.id, detail=detail or {})
