"""What this worker process has received: request counts per (path, model) and the last request per path."""

import msgspec

from tollway.fakellm.responses import Headers


class Recorder:
    """In-memory and per worker: tests that read it must run the server with one worker."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._last: dict[str, tuple[Headers, bytes]] = {}

    def record(self, path: str, model: str, headers: Headers, body: bytes) -> None:
        key = (path, model)
        self._counts[key] = self._counts.get(key, 0) + 1
        self._last[path] = (headers, body)  # kept raw; decoded only when someone asks

    def reset(self) -> None:
        self._counts.clear()
        self._last.clear()

    def stats(self) -> bytes:
        """``{"total": n, "requests": {path: {model: n}}}``."""
        requests: dict[str, dict[str, int]] = {}
        for (path, model), count in self._counts.items():
            requests.setdefault(path, {})[model] = count
        return msgspec.json.encode({"total": sum(self._counts.values()), "requests": requests})

    def last_requests(self) -> bytes:
        """``{path: {"headers": {...}, "body": <json or text>}}`` for the latest request to each path."""
        return msgspec.json.encode({path: _describe(headers, body) for path, (headers, body) in self._last.items()})


def _describe(headers: Headers, body: bytes) -> dict[str, object]:
    try:
        decoded: object = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        decoded = body.decode("utf-8", "replace")
    return {"headers": {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}, "body": decoded}


RECORDER = Recorder()
