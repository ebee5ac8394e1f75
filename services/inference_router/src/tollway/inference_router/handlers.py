"""Use cases of inference_router: serve one chat call across the fallback chain; inspect and reset breakers."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import msgspec
from opentelemetry import trace

from tollway.inference_router.domain.canonical import ChatRequest
from tollway.inference_router.domain.catalog import Catalog, Model
from tollway.inference_router.domain.code_router import Classification, CodeMode, classify, parse_mode
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.embeddings import (
    EmbeddingsCall,
    decode_embeddings_request,
    embeddings_usage,
    readdressed,
)
from tollway.inference_router.domain.errors import DomainError, UpstreamProtocolError, invalid_field
from tollway.inference_router.domain.pricing import cost_micros
from tollway.inference_router.domain.public_format import PublicFormat
from tollway.inference_router.domain.request_rules import check_model_limits
from tollway.inference_router.domain.routing import (
    Attempt,
    Outcome,
    OutcomeKind,
    attempt_budget,
    cooling_down_wait,
    final_failure_status,
    outcome_for_status,
    plan_attempts,
    retry_after_header,
)
from tollway.inference_router.domain.strategies import needs_load, order_attempts, renumbered
from tollway.inference_router.domain.usage import estimate_usage
from tollway.inference_router.ports import (
    BreakerBook,
    Clock,
    DeploymentLoadBook,
    EmbeddingProvider,
    ProviderAdapter,
    UpstreamConnectError,
    UpstreamReply,
    UpstreamTimeoutError,
    UpstreamTransport,
    UsageSink,
)
from tollway.inference_router.recording import UsageRecorder
from tollway.inference_router.relay import StreamRelay, abandon_stream, relay_stream
from tollway.inference_router.replies import ChatReply, ChatStream

_TRACER = trace.get_tracer("tollway.inference_router")
ERROR_CLASS = {429: "rate_limited", 504: "upstream_timeout", 503: "no_deployment_available"}
USAGE_BACKLOG_MESSAGE = "the router cannot record usage right now; retry shortly"


@dataclass(frozen=True)
class RouterPorts:
    catalog: Catalog
    adapters: Mapping[str, ProviderAdapter]
    transport: UpstreamTransport
    breakers: BreakerBook
    usage: UsageSink
    clock: Clock
    load: DeploymentLoadBook | None = None  # measured only for models whose strategy needs it
    deadline_s: float = 0.0  # the whole request's upstream time, split across attempts (0: per-attempt timeouts)
    rng: random.Random = field(default_factory=random.Random)
    code_tiers: Counter[tuple[str, int]] = field(default_factory=Counter)  # code-router picks by (mode, tier)


class UnknownModelError(DomainError):
    status = 404


@dataclass
class _Call:
    """One chat call in flight: what every step of the fallback loop needs."""

    command: ServeChat
    request: ChatRequest
    model: Model
    ports: RouterPorts
    recorder: UsageRecorder
    fmt: PublicFormat
    outcomes: list[Outcome]
    budget_s: float | None = None  # the current attempt's share of the request deadline
    skipped: tuple[str, ...] = ()  # deployment keys the plan left out (open breaker or Retry-After cooldown)


async def serve_chat(command: ServeChat, ports: RouterPorts) -> ChatReply | ChatStream:
    """Answer one chat call; exactly one usage event is recorded for it whichever way it ends.

    A reply is returned only once its event is durable. A stream hands the recording over to its relay, which
    records when the stream ends or the client leaves, and holds the closing frames until the event is durable.
    With too many events not yet durable the call is refused (503) before any work: never served unrecorded.
    """
    fmt = PublicFormat(command.api)
    if ports.usage.full:
        return ChatReply(503, fmt.error(503, USAGE_BACKLOG_MESSAGE), (("retry-after", "1"), *fmt.error_headers(503)))
    recorder = UsageRecorder(command, ports.usage, ports.clock)
    recorder.price_version = ports.catalog.price_version
    answer: ChatReply | ChatStream | None = None
    try:
        answer = await _serve(command, ports, recorder, fmt)
    except DomainError as error:
        recorder.failed("invalid_request" if error.status < 500 else "internal_error", error.status)
        answer = ChatReply(error.status, fmt.error(error.status, error.message, param=error.param))
    finally:
        if not isinstance(answer, ChatStream):
            recorder.ensure_recorded()
    if isinstance(answer, ChatReply):
        await recorder.durable()
        if answer.status >= 400:  # every refusal, whoever made it, in the client API's own error headers
            answer = dataclasses.replace(answer, headers=(*answer.headers, *fmt.error_headers(answer.status)))
    return answer


async def _serve(
    command: ServeChat, ports: RouterPorts, recorder: UsageRecorder, fmt: PublicFormat
) -> ChatReply | ChatStream:
    if command.api == "openai_embeddings":
        return await _serve_embeddings(command, ports, recorder, fmt)
    request = fmt.decode(command.body)
    recorder.requested_model, recorder.stream = request.model, request.stream
    request = _code_routed(ports, request)
    model = _model(ports.catalog, request.model, kind="chat")
    check_model_limits(request, model)
    call = _Call(command, request, model, ports, recorder, fmt, [])
    plan = await _plan(call)
    for index, attempt in enumerate(plan):
        call.budget_s = _budget(call, len(plan) - index)
        if call.budget_s is not None and call.budget_s <= 0:
            await _failed_attempt(call, attempt, Outcome(kind="timeout"), "the request deadline was used up")
            continue
        answer = await _measured_attempt(call, attempt)
        if answer is not None:
            return answer
    return await _all_failed(call)


def _budget(call: _Call, attempts_left: int) -> float | None:
    if call.ports.deadline_s <= 0:
        return None
    remaining = call.command.started + call.ports.deadline_s - call.ports.clock.monotonic()
    return attempt_budget(remaining, attempts_left)


def _code_routed(ports: RouterPorts, request: ChatRequest) -> ChatRequest:
    """``router:code[:mode]`` becomes the public model of the tier the prompt classifies into."""
    mode = parse_mode(request.model)
    if mode is None:
        return request
    picked = classify_code(ports, request, mode)
    return msgspec.structs.replace(request, model=picked.model)


def classify_code(ports: RouterPorts, request: ChatRequest, mode: CodeMode) -> Classification:
    config = ports.catalog.document.code_router
    if config is None:
        raise UnknownModelError("the code router is not configured in this catalogue", param="model")
    picked = classify(request, mode, config, ports.catalog)
    ports.code_tiers[(mode, picked.tier)] += 1
    return picked


def _model(catalog: Catalog, name: str, *, kind: str) -> Model:
    model = catalog.model(name)
    if model is None:
        message = f"The model '{name}' does not exist or you do not have access to it."
        raise UnknownModelError(message, param="model")
    if model.kind != kind:
        route = "/v1/embeddings" if model.kind == "embedding" else "a chat route"
        raise invalid_field("model", f"'{name}' is an {model.kind} model; call it through {route}")
    return model


async def _plan(call: _Call) -> tuple[Attempt, ...]:
    """The user's strategy picks what may be tried (and skips open breakers); the model's strategy orders it."""
    ports, model = call.ports, call.model
    unavailable = await ports.breakers.unavailable([d.key for d in model.deployments])
    strategy = call.command.routing_strategy
    plan = plan_attempts(model, ports.catalog.providers, strategy=strategy, unavailable=unavailable)
    attempts, call.skipped = plan.attempts, tuple(deployment.key for deployment in plan.skipped)
    if model.strategy == "ordered" or len(attempts) < 2:
        return attempts
    load = {}
    if ports.load is not None and needs_load(model.strategy):
        load = await ports.load.snapshot([attempt.deployment.key for attempt in attempts])
    return renumbered(order_attempts(attempts, model, call.request, load=load, rng=ports.rng))


async def _measured_attempt(call: _Call, attempt: Attempt) -> ChatReply | ChatStream | None:
    """One attempt, its own span (until its answer is committed; the upstream call carries the span's context)."""
    attributes: dict[str, str | int | bool] = {
        "tollway.provider": attempt.provider.id,
        "tollway.upstream_model": attempt.deployment.upstream_model,
        "tollway.position": attempt.position,
        "tollway.is_fallback": attempt.is_fallback,
    }
    with _TRACER.start_as_current_span("upstream attempt", attributes=attributes) as span:
        answer = await _counted_attempt(call, attempt)
        outcome = "moved_on" if answer is None else "stream" if isinstance(answer, ChatStream) else str(answer.status)
        span.set_attribute("tollway.outcome", outcome)
        return answer


async def _counted_attempt(call: _Call, attempt: Attempt) -> ChatReply | ChatStream | None:
    """An attempt counted in flight and timed (whole call, or first token of a stream) for the load strategies."""
    book = call.ports.load if needs_load(call.model.strategy) else None
    if book is None:
        return await _attempt(call, attempt)
    key, call_id, started = attempt.deployment.key, call.command.request_id, call.ports.clock.monotonic()
    await book.started(key, call_id)
    answer: ChatReply | ChatStream | None = None
    try:
        answer = await _attempt(call, attempt)
    finally:
        elapsed_ms = (call.ports.clock.monotonic() - started) * 1000
        if not isinstance(answer, ChatStream):
            ok = answer is not None and answer.status < 400
            await book.finished(key, call_id, elapsed_ms if ok else None)
    if isinstance(answer, ChatStream):  # in flight until the stream ends; its latency is the first token's
        return dataclasses.replace(answer, chunks=_then(answer.chunks, lambda: book.finished(key, call_id, elapsed_ms)))
    return answer


async def _then(
    chunks: AsyncGenerator[bytes, None], done: Callable[[], Awaitable[None]]
) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()
        await done()


async def _serve_embeddings(
    command: ServeChat, ports: RouterPorts, recorder: UsageRecorder, fmt: PublicFormat
) -> ChatReply:
    """The same fallback loop, breakers and single usage event as chat; deployments that cannot embed are passed."""
    embeddings = decode_embeddings_request(command.body)
    recorder.requested_model = embeddings.model
    model = _model(ports.catalog, embeddings.model, kind="embedding")
    call = _Call(command, embeddings.stand_in, model, ports, recorder, fmt, [])
    for attempt in await _plan(call):
        adapter = ports.adapters[attempt.provider.id]
        if isinstance(adapter, EmbeddingProvider):
            answer = await _embed(call, attempt, adapter, embeddings)
            if answer is not None:
                return answer
    return await _all_failed(call)


async def _embed(
    call: _Call, attempt: Attempt, adapter: EmbeddingProvider, embeddings: EmbeddingsCall
) -> ChatReply | None:
    body = embeddings.upstream_body(attempt.deployment.upstream_model)
    upstream = adapter.build_embeddings_request(body, upstream_model=attempt.deployment.upstream_model)
    try:
        reply = await call.ports.transport.send(upstream)
    except (UpstreamTimeoutError, UpstreamConnectError) as error:
        await _failed_attempt(call, attempt, Outcome(kind=_kind(error)), str(error))
        return None
    if reply.status >= 400:
        return await _upstream_error(call, attempt, reply, adapter)
    try:
        answer = await reply.read()
        usage = embeddings_usage(answer) or estimate_usage(call.request, delivered_chars=0)
        out = readdressed(answer, model=embeddings.model)
    except (UpstreamTimeoutError, UpstreamConnectError, UpstreamProtocolError) as error:
        kind: OutcomeKind = "timeout" if isinstance(error, UpstreamTimeoutError) else "provider_error"
        await _failed_attempt(call, attempt, Outcome(kind=kind), str(error))
        return None
    finally:
        reply.close()
    call.recorder.completed(attempt, usage, cost_micros(usage, call.model.prices), ttft_ms=None, ok=True)
    await call.ports.breakers.record(attempt.deployment.key, "success")
    return ChatReply(200, out)


async def _attempt(call: _Call, attempt: Attempt) -> ChatReply | ChatStream | None:
    """One deployment: its answer for the client, or ``None`` to move on to the next one."""
    adapter = call.ports.adapters[attempt.provider.id]
    upstream = adapter.build_request(
        call.request, upstream_model=attempt.deployment.upstream_model, default_max_tokens=call.model.max_output_tokens
    )
    if call.budget_s is not None:
        upstream = msgspec.structs.replace(upstream, budget_s=call.budget_s)
    try:
        reply = await call.ports.transport.send(upstream)
    except (UpstreamTimeoutError, UpstreamConnectError) as error:
        await _failed_attempt(call, attempt, Outcome(kind=_kind(error)), str(error))
        return None
    try:
        if reply.status >= 400:
            return await _upstream_error(call, attempt, reply, adapter)
        if call.request.stream:
            return await _start_stream(call, attempt, reply, adapter)
        return await _complete(call, attempt, reply, adapter)
    except BaseException:
        reply.close()  # cancelled (client gone) or failed: never leave the upstream connection open
        raise


async def _upstream_error(
    call: _Call, attempt: Attempt, reply: UpstreamReply, adapter: ProviderAdapter | EmbeddingProvider
) -> ChatReply | None:
    body = await _read_quietly(reply)
    outcome = outcome_for_status(reply.status, retry_after=reply.headers.get("retry-after"), now=call.ports.clock.now())
    message = adapter.error_message(body)
    if outcome.try_next:
        await _failed_attempt(call, attempt, outcome, message)
        return None
    # The request itself was rejected (e.g. 400): no other deployment would answer differently.
    await call.ports.breakers.record(attempt.deployment.key, outcome.breaker_signal)
    call.recorder.attempt_failed(attempt, "upstream_rejected", reply.status, message)
    call.recorder.failed("upstream_rejected", reply.status)
    return ChatReply(reply.status, call.fmt.error(reply.status, message))


async def _failed_attempt(call: _Call, attempt: Attempt, outcome: Outcome, message: str) -> None:
    call.outcomes.append(outcome)
    call.recorder.attempt_failed(attempt, outcome.kind, outcome.status, message)
    await call.ports.breakers.record(attempt.deployment.key, outcome.breaker_signal, outcome.retry_after)


async def _complete(call: _Call, attempt: Attempt, reply: UpstreamReply, adapter: ProviderAdapter) -> ChatReply | None:
    try:
        response = adapter.parse_response(await reply.read())
    except (UpstreamTimeoutError, UpstreamConnectError, UpstreamProtocolError) as error:
        reply.close()
        kind: OutcomeKind = "timeout" if isinstance(error, UpstreamTimeoutError) else "provider_error"
        await _failed_attempt(call, attempt, Outcome(kind=kind), str(error))
        return None
    usage = response.usage or estimate_usage(call.request, delivered_chars=len(response.content or ""))
    call.recorder.completed(attempt, usage, cost_micros(usage, call.model.prices), ttft_ms=None, ok=True)
    await call.ports.breakers.record(attempt.deployment.key, "success")
    created = int(call.ports.clock.now())
    body = call.fmt.response(response, model=call.request.model, created=created, request_id=call.command.request_id)
    return ChatReply(200, body)


async def _start_stream(
    call: _Call, attempt: Attempt, reply: UpstreamReply, adapter: ProviderAdapter
) -> ChatStream | None:
    """Wait for the first bytes before committing: a deployment that never starts can still be failed over."""
    try:
        first = await reply.first_chunk()
    except (UpstreamTimeoutError, UpstreamConnectError) as error:
        reply.close()
        await _failed_attempt(call, attempt, Outcome(kind=_kind(error)), str(error))
        return None
    ttft_ms = int((call.ports.clock.monotonic() - call.command.started) * 1000)
    await call.ports.breakers.record(attempt.deployment.key, "success")
    encoder = call.fmt.stream_encoder(
        call.request, request_id=call.command.request_id, model=call.request.model, created=int(call.ports.clock.now())
    )
    relay = StreamRelay(call.request, call.model, attempt, adapter.stream_decoder(), encoder)
    return ChatStream(
        relay_stream(reply, first, relay, call.recorder, ttft_ms),
        abandon=lambda: abandon_stream(reply, relay, call.recorder, ttft_ms),
        headers=call.fmt.stream_headers,
        content_type=call.fmt.stream_content_type,
    )


async def _all_failed(call: _Call) -> ChatReply:
    if not call.outcomes and call.skipped:
        wait = cooling_down_wait(call.skipped, await call.ports.breakers.cooling(call.skipped))
        if wait is not None:  # nothing tried: every deployment is waiting out an upstream's Retry-After
            call.recorder.failed(ERROR_CLASS[429], 429)
            message = f"every deployment of '{call.model.id}' is rate limited upstream; retry after the wait"
            return ChatReply(429, call.fmt.error(429, message), (("retry-after", retry_after_header(wait)),))
    status = final_failure_status(call.outcomes)
    call.recorder.failed(ERROR_CLASS.get(status, "upstream_unavailable"), status)
    waits = [o.retry_after for o in call.outcomes if o.retry_after is not None]
    headers = (("retry-after", retry_after_header(min(waits))),) if waits else ()
    message = "no deployment could serve the request" if call.outcomes else "every deployment is unavailable"
    return ChatReply(status, call.fmt.error(status, message), headers)


def _kind(error: Exception) -> OutcomeKind:
    return "timeout" if isinstance(error, UpstreamTimeoutError) else "connect_error"


async def _read_quietly(reply: UpstreamReply) -> bytes:
    try:
        return await reply.read()
    except (UpstreamTimeoutError, UpstreamConnectError, UpstreamProtocolError):
        return b""
    finally:
        reply.close()
