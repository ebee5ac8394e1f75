"""Gateway use cases: users, API keys, key authentication, rate-limit overrides and admission of public calls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec

from tollway.contracts import ApiKeyCreatedV1, ApiKeyRevokedV1, UserRegisteredV1, utc_now
from tollway.gateway.domain import admission as rules
from tollway.gateway.domain import api_keys as key_format
from tollway.gateway.domain.accounts import ModelNotAllowedError, model_allowed
from tollway.gateway.domain.admission import Admitted, ChatCall, Outcome
from tollway.gateway.domain.api_keys import ApiKey, IssuedKey, KeyDigester
from tollway.gateway.domain.audit import AuditEntry, AuditEvent
from tollway.gateway.domain.envelope import decode_envelope
from tollway.gateway.domain.errors import ApiKeyNotFoundError, EmailTakenError, InvalidInputError, UserNotFoundError
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_api_key_id, new_user_id
from tollway.gateway.domain.ratelimits import LimitOverride, Limits, Subject
from tollway.gateway.domain.rejections import ModelNotFoundError, ServiceUnavailableError
from tollway.gateway.domain.usage import Usage
from tollway.gateway.domain.users import NewUser, User, normalise_email, validated, validated_key_name
from tollway.gateway.ports import AccountStore, AdmissionPorts, EventPublisher, KeyAuthPorts, LimitSource, UnitOfWork

log = logging.getLogger(__name__)


async def register_user(store: AccountStore, new: NewUser, *, actor: str) -> User:
    """Create a user; ``UserRegisteredV1`` commits with the row (billing opens the account on it)."""
    new = validated(new)
    user = User(
        id=new_user_id(),
        email=new.email,
        display_name=new.display_name,
        routing_strategy=new.routing_strategy,
        is_active=True,
        created_at=utc_now(),
    )
    async with store.transaction() as uow:
        if not await uow.users.add(user):
            raise EmailTakenError
        event = UserRegisteredV1(user_id=user.id, email=user.email, display_name=user.display_name)
        await uow.outbox.stage([event])
        await uow.audit.record(AuditEntry(event=AuditEvent.USER_REGISTERED, actor=actor, user_id=user.id))
    return user


async def ensure_user(store: AccountStore, new: NewUser, *, actor: str) -> User:
    """The user with ``new.email``, registered first if there is none (idempotent seeding)."""
    if new.email is None:
        raise InvalidInputError("ensuring a user needs an email", "email")
    async with store.transaction() as uow:
        existing = await uow.users.get_by_email(normalise_email(new.email))
    if existing is not None:
        return existing
    try:
        return await register_user(store, new, actor=actor)
    except EmailTakenError:
        # A concurrent seeder won the race; its user is the one we wanted.
        return await ensure_user(store, new, actor=actor)


async def get_user(store: AccountStore, user_id: str) -> User:
    async with store.transaction() as uow:
        user = await uow.users.get(user_id)
    if user is None:
        raise UserNotFoundError(user_id)
    return user


async def create_api_key(
    store: AccountStore,
    digester: KeyDigester,
    user_id: str,
    *,
    actor: str,
    name: str | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Issue a key: only its digest and display prefix are stored; the plaintext is returned once."""
    name = validated_key_name(name)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= datetime.now(UTC)):
        raise InvalidInputError("expires_at must be a future timestamp with a timezone", "expires_at")
    plaintext = key_format.generate_key()
    key = ApiKey(
        id=new_api_key_id(),
        user_id=user_id,
        digest=digester.digest(plaintext),
        display_prefix=key_format.display_prefix(plaintext),
        name=name,
        created_at=utc_now(),
        expires_at=expires_at,
    )
    async with store.transaction() as uow:
        if await uow.users.get(user_id) is None:
            raise UserNotFoundError(user_id)
        await uow.api_keys.add(key)
        event = ApiKeyCreatedV1(api_key_id=key.id, user_id=user_id, display_prefix=key.display_prefix)
        await uow.outbox.stage([event])
        await uow.audit.record(_key_audit(AuditEvent.KEY_CREATED, actor, key))
    return IssuedKey(api_key=key, plaintext=plaintext)


async def list_api_keys(store: AccountStore, user_id: str) -> list[ApiKey]:
    async with store.transaction() as uow:
        if await uow.users.get(user_id) is None:
            raise UserNotFoundError(user_id)
        return await uow.api_keys.list_for_user(user_id)


async def revoke_api_key(
    store: AccountStore, api_key_id: str, *, actor: str, fast_path: EventPublisher | None = None
) -> ApiKey:
    """Revoke a key (idempotent); ``ApiKeyRevokedV1`` commits with the change and every replica evicts the key.

    The outbox guarantees delivery; ``fast_path`` also publishes right after commit with the same event id
    (JetStream drops the relay's copy as a duplicate), so revocation does not wait for, or depend on, the relay.
    """
    async with store.transaction() as uow:
        key = await uow.api_keys.revoke(api_key_id, utc_now())
        if key is None:
            existing = await uow.api_keys.get(api_key_id)
            if existing is None:
                raise ApiKeyNotFoundError(api_key_id)
            return existing
        event = ApiKeyRevokedV1(api_key_id=key.id, user_id=key.user_id)
        await uow.outbox.stage([event])
        await uow.audit.record(_key_audit(AuditEvent.KEY_REVOKED, actor, key))
    if fast_path is not None:
        try:
            await fast_path.publish(event)
        except Exception as exc:  # the outbox row is committed; the relay delivers it
            log.warning("revocation fast path failed (%s); the outbox relay will deliver it", type(exc).__name__)
    return key


async def authenticate_key(key: str, ports: KeyAuthPorts) -> Identity | None:
    """The identity of a usable key, else ``None``; a warm key costs one HMAC and a dict lookup, no query."""
    if not key_format.is_well_formed(key):
        return None  # malformed or bad checksum: rejected before any cache or database work
    identity = await ports.cache.resolve(ports.digester.digest(key), ports.lookup.find_identity)
    if identity is None or not identity.is_usable(datetime.now(UTC)):
        return None
    ports.usage.note(identity.api_key_id)
    return identity


async def record_admin_auth_failure(store: AccountStore, reason: str, source: str | None, repeats: int = 0) -> None:
    """Audit a rejected admin credential: why, from where and how often since the last row; never what was sent."""
    detail = {"reason": reason} if source is None else {"reason": reason, "source": source}
    if repeats:
        detail["repeats_before"] = str(repeats)
    async with store.transaction() as uow:
        await uow.audit.record(AuditEntry(event=AuditEvent.ADMIN_AUTH_FAILED, actor="unknown", detail=detail))


async def set_rate_limits(
    store: AccountStore, subject: Subject, subject_id: str, override: LimitOverride, *, actor: str
) -> LimitOverride:
    """Store the override of a user or key (replacing any); every replica applies it at its next reload."""
    async with store.transaction() as uow:
        await _require_subject(uow, subject, subject_id)
        await uow.rate_limits.put(subject, subject_id, override)
        await uow.audit.record(_limits_audit(AuditEvent.RATE_LIMITS_SET, actor, subject, subject_id, override))
    return override


async def clear_rate_limits(store: AccountStore, subject: Subject, subject_id: str, *, actor: str) -> None:
    """Back to the defaults (idempotent)."""
    async with store.transaction() as uow:
        await _require_subject(uow, subject, subject_id)
        if await uow.rate_limits.delete(subject, subject_id):
            await uow.audit.record(_limits_audit(AuditEvent.RATE_LIMITS_CLEARED, actor, subject, subject_id, None))


async def get_rate_limits(store: AccountStore, subject: Subject, subject_id: str) -> LimitOverride | None:
    async with store.transaction() as uow:
        await _require_subject(uow, subject, subject_id)
        return await uow.rate_limits.get(subject, subject_id)


async def admit_chat(ports: AdmissionPorts, call: ChatCall) -> Admitted:
    """Validate, find the model, then charge every limit and the credit hold in one atomic call (or refuse)."""
    envelope = decode_envelope(call.body)
    catalogue = ports.catalogue.current()
    if catalogue is None:
        raise ServiceUnavailableError("the model catalogue is not loaded yet; please retry shortly")
    model = catalogue.find(envelope.model)
    if model is None:
        raise ModelNotFoundError(envelope.model)
    if call.identity is not None and not model_allowed(call.identity.allowed_models, model.id, envelope.model):
        raise ModelNotAllowedError(f"this API key may not use the model `{envelope.model[:200]}`", "model")
    if call.identity is not None and not ports.balances.is_loaded():
        raise ServiceUnavailableError("account balances are still loading; please retry shortly")
    balance = 0 if call.identity is None else ports.balances.balance_of(call.identity.user_id)
    subjects = _limit_subjects(call, ports.limits)
    plan = rules.plan_admission(
        call,
        output_cap=envelope.output_cap,
        model=model,
        subjects=subjects,
        periods=ports.limits.periods,
        balance_micros=balance,
    )
    decision = await ports.admission.admit(plan)
    if decision.outcome is not Outcome.ADMITTED:
        raise rules.refusal(plan, decision)
    headers = rules.rate_limit_headers(plan, decision)
    return Admitted(call=call, model=model, stream=envelope.stream, plan=plan, decision=decision, headers=headers)


async def settle_chat(ports: AdmissionPorts, admitted: Admitted, status: int, usage: Usage | None) -> None:
    """The hold becomes the request's cost and the token reservation its tokens (both kept when unknown)."""
    if admitted.decision.degraded:
        return
    cost, token_delta = rules.settlement(admitted, status, usage)
    await ports.admission.settle(admitted.plan, cost, token_delta)


def _limit_subjects(call: ChatCall, limits: LimitSource) -> list[tuple[str, Limits]]:
    if call.identity is None:
        return [("ip", limits.anonymous)]
    key_id, user_id = call.identity.api_key_id, call.identity.user_id
    return [(f"key:{key_id}", limits.for_key(key_id)), ("user", limits.for_user(user_id))]


async def _require_subject(uow: UnitOfWork, subject: Subject, subject_id: str) -> None:
    if subject is Subject.USER and await uow.users.get(subject_id) is None:
        raise UserNotFoundError(subject_id)
    if subject is Subject.API_KEY and await uow.api_keys.get(subject_id) is None:
        raise ApiKeyNotFoundError(subject_id)


def _limits_audit(
    event: AuditEvent, actor: str, subject: Subject, subject_id: str, override: LimitOverride | None
) -> AuditEntry:
    values = {} if override is None else msgspec.structs.asdict(override)
    detail = {name: str(value) for name, value in values.items() if value is not None}
    if subject is Subject.USER:
        return AuditEntry(event=event, actor=actor, user_id=subject_id, detail=detail)
    return AuditEntry(event=event, actor=actor, api_key_id=subject_id, detail=detail)


def _key_audit(event: AuditEvent, actor: str, key: ApiKey) -> AuditEntry:
    return AuditEntry(event=event, actor=actor, user_id=key.user_id, api_key_id=key.id)
