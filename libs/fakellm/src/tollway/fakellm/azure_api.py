"""Azure OpenAI: ``/openai/deployments/{deployment}/chat/completions`` and ``/embeddings``, ``?api-version=`` required.

The deployment in the path is the model (Azure ignores the body's ``model``); answers are OpenAI's.
"""

from urllib.parse import parse_qs

import msgspec

from tollway.fakellm import embeddings_api, openai_api
from tollway.fakellm.controls import Controls
from tollway.fakellm.exchange import Incoming
from tollway.fakellm.responses import Send, send_error

PATH_PREFIX = "/openai/deployments/"
OPERATIONS = {"chat/completions": openai_api.chat_completions, "embeddings": embeddings_api.embeddings}
_DICT = msgspec.json.Decoder(dict[str, object])


def route_for(path: str) -> tuple[str, str] | None:
    """``(deployment, operation)`` for an Azure path, ``None`` for any other."""
    if not path.startswith(PATH_PREFIX):
        return None
    deployment, _, operation = path[len(PATH_PREFIX) :].partition("/")
    if not deployment or operation not in OPERATIONS:
        return None
    return deployment, operation


async def serve(incoming: Incoming, send: Send, query_string: bytes, defaults: Controls) -> None:
    route = route_for(incoming.path)
    if route is None:
        await send_error(send, "openai", 404, f"fakellm: no Azure route for {incoming.path}")
        return
    if not parse_qs(query_string.decode("latin-1")).get("api-version"):
        await send_error(send, "openai", 404, "Resource not found (fakellm: no api-version query parameter)")
        return
    if not any(name in {b"api-key", b"authorization"} for name, _ in incoming.headers):
        await send_error(send, "openai", 401, "Access denied due to missing subscription key (send an api-key header).")
        return
    deployment, operation = route
    try:
        body = _DICT.decode(incoming.body)
    except msgspec.DecodeError as error:
        await send_error(send, "openai", 400, f"fakellm: malformed request body: {error}")
        return
    body["model"] = deployment
    rewritten = Incoming(incoming.path, incoming.headers, msgspec.json.encode(body), incoming.receive)
    await OPERATIONS[operation](rewritten, send, defaults)
