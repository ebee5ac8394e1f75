"""``/console``: the web console's files, with headers that keep the keys it holds inside this origin."""

from __future__ import annotations

from litestar import Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from tollway.gateway.console import STATIC_DIR

# The console keeps an API or admin key in sessionStorage, so nothing but its own files may run, load or frame it.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


async def _secure(response: Response) -> Response:  # type: ignore[type-arg]
    response.headers.update(SECURITY_HEADERS)
    return response


def console_router() -> Router:
    """A fresh router per app; ``no-cache`` makes browsers revalidate, so an upgrade is seen at the next load."""
    return create_static_files_router(
        path="/console",
        directories=[STATIC_DIR],
        html_mode=True,
        name="console",
        after_request=_secure,
        cache_control=CacheControlHeader(no_cache=True),
    )
