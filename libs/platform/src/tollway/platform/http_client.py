"""The one pooled aiohttp session a process uses for hot-path calls (gateway → router → providers)."""

from __future__ import annotations

import aiohttp


def open_http_client(*, limit: int = 1000, connect_timeout_s: float = 5.0) -> aiohttp.ClientSession:
    """A keep-alive session shared by every request of the process; never create one per request.

    The total timeout is left unset on purpose: streams may run for minutes, and each call sets the
    first-token and total timeouts it needs. It keeps no cookies: a cookie one caller's call brought back (a
    provider edge's session cookie, say) would otherwise go out on every later call, whoever made it; not
    filtering a jar on every request also saves its CPU.
    """
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=300, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )
