"""``/admin/v1/errors/patterns/{id}/suggest-fix`` and ``/suggestions``: advice from a model, stored, never applied."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter

from tollway.error_monitor import handlers
from tollway.error_monitor.api.errors import Store, require_admin
from tollway.error_monitor.api.schemas import SuggestionListOut, SuggestionOut
from tollway.error_monitor.domain.views import InvalidQueryError
from tollway.error_monitor.ports import FixAdvisor, SuggestionStore
from tollway.platform.http import caller_identity

MAX_KEY_LENGTH = 255
IdempotencyKey = Annotated[str | None, HeaderParameter(name="idempotency-key", required=False)]


def _key(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise InvalidQueryError("Idempotency-Key", f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters")
    return value


class SuggestionsController(Controller):
    path = "/admin/v1/errors/patterns"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @post("/{pattern_id:str}/suggest-fix", status_code=201)
    async def suggest_fix(
        self,
        request: Request[Any, Any, Any],
        *,
        pattern_id: FromPath[str],
        store: Store,
        suggestions: NamedDependency[SuggestionStore],
        advisor: NamedDependency[FixAdvisor | None],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SuggestionOut]:
        requested_by = caller_identity(request).user_id or "admin"
        found, replay = await handlers.suggest_fix(
            store,
            suggestions,
            advisor,
            pattern_id=pattern_id,
            requested_by=requested_by,
            idempotency_key=_key(idempotency_key),
            now=datetime.now(UTC),
        )
        headers = {"idempotent-replayed": "true"} if replay else {}
        return Response(SuggestionOut.of(found), status_code=201, headers=headers)

    @get("/{pattern_id:str}/suggestions")
    async def list_suggestions(
        self, pattern_id: FromPath[str], store: Store, suggestions: NamedDependency[SuggestionStore]
    ) -> SuggestionListOut:
        found = await handlers.list_suggestions(store, suggestions, pattern_id)
        return SuggestionListOut(pattern_id=pattern_id, data=[SuggestionOut.of(s) for s in found])
