"""The gateway's client of the inference_router: the chat call (streamed back) and the catalogue, on one session."""

from __future__ import annotations

import aiohttp
import msgspec

from tollway.contracts.internal_api import API_HEADER, CATALOG_PATH, CHAT_PATH, REQUEST_ID_HEADER, CatalogOut
from tollway.gateway.domain.admission import Admitted
from tollway.gateway.domain.ids import new_request_id
from tollway.platform.identity import Identity as CallerIdentity
from tollway.platform.identity import sign_identity
from tollway.platform.telemetry import inject_trace_context

# Between two chunks of an answer; the router enforces the provider timeouts, this only frees a stuck connection.
READ_TIMEOUT_S = 600.0
CATALOG_TIMEOUT_S = 10.0
PASSED_THROUGH = ("anthropic-version", "anthropic-beta")  # request headers the router may need to translate


class RouterError(Exception):
    """The router could not be reached or did not answer the catalogue call properly."""


class RouterClient:
    """Built once per process on the shared pooled session: no client is ever created per request."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, secret: bytes) -> None:
        self._http = http
        self._chat_url = base_url.rstrip("/") + CHAT_PATH
        self._catalog_url = base_url.rstrip("/") + CATALOG_PATH
        self._secret = secret
        self._chat_timeout = aiohttp.ClientTimeout(total=None, sock_read=READ_TIMEOUT_S)
        self._catalog_decoder = msgspec.json.Decoder(CatalogOut)

    async def open_chat(self, admitted: Admitted, client_headers: dict[str, str]) -> aiohttp.ClientResponse:
        """Send the client's body unchanged; the caller reads the response and closes or releases it."""
        headers = self._chat_headers(admitted)
        for name in PASSED_THROUGH:
            if name in client_headers:
                headers[name] = client_headers[name]
        try:
            return await self._http.post(
                self._chat_url, data=admitted.call.body, headers=headers, timeout=self._chat_timeout
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise RouterError(f"{type(exc).__name__}: {exc}") from exc

    async def fetch_catalog(self) -> CatalogOut:
        headers = sign_identity(CallerIdentity(request_id=new_request_id()), self._secret)
        timeout = aiohttp.ClientTimeout(total=CATALOG_TIMEOUT_S)
        try:
            async with self._http.get(self._catalog_url, headers=headers, timeout=timeout) as response:
                if response.status != 200:
                    raise RouterError(f"catalogue answered {response.status}")
                return self._catalog_decoder.decode(await response.read())
        except (aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError) as exc:
            raise RouterError(f"{type(exc).__name__}: {exc}") from exc

    def _chat_headers(self, admitted: Admitted) -> dict[str, str]:
        call = admitted.call
        identity = call.identity
        if identity is None:
            caller = CallerIdentity(request_id=call.request_id, role="anonymous", is_anonymous=True)
        else:
            caller = CallerIdentity(
                request_id=call.request_id,
                role="user",
                user_id=identity.user_id,
                account_id=identity.user_id,
                api_key_id=identity.api_key_id,
                routing_strategy=identity.routing_strategy,
            )
        headers = sign_identity(caller, self._secret)
        headers[API_HEADER] = call.api
        headers[REQUEST_ID_HEADER] = call.request_id
        headers["content-type"] = "application/json"
        inject_trace_context(headers)
        return headers
