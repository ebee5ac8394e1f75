"""A Litestar request whose JSON body turns every decoder failure into the framework's 400, never a 500."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException


class JsonSafeRequest(Request[Any, Any, Any]):
    """``Request.json`` maps only msgspec's ``DecodeError`` to a 400 (``SerializationException``).

    msgspec also raises ``UnicodeDecodeError`` for invalid UTF-8 in a string and ``RecursionError`` past ~1,000
    levels of nesting; Litestar lets both escape as 500s. They are the client's malformed JSON, so they get the same
    400 as any other syntax error.
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise SerializationException("the request body is not valid JSON (it must be UTF-8 encoded)") from None
        except RecursionError:
            raise SerializationException("the request body is nested too deeply (at most about 1,000 levels)") from None
