"""The benchmarked targets (direct fake upstream, floor, Tollway, LiteLLM): what to call, how, and whose CPU counts."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.processes import Child, StartError, Supervisor, wait_http
from tollway.testing import proctree

PY = sys.executable
BENCH_DIR = Path(__file__).resolve().parent
MODES = ("chat", "stream", "messages")
# The fake upstream answers any model id; "+tps=1000" paces a stream (20 tokens over ~20 ms) for the TTFT probe.
FAKE_MODELS = {
    "chat": "fake-gpt-mini",
    "stream": "fake-gpt-mini",
    "messages": "fake-claude-haiku",
    "paced": "fake-gpt-mini+tps=1000",
}
PUBLIC_MODELS = {"chat": "gpt-4o-mini", "stream": "gpt-4o-mini", "messages": "claude-3-5-haiku", "paced": "bench-paced"}
# Anthropic messages go to Tollway only (and to the fake directly, as its baseline).
MODES_OF = {"direct": MODES, "floor": ("chat", "stream"), "tollway": MODES, "litellm": ("chat", "stream")}
PATHS = {"chat": "/v1/chat/completions", "stream": "/v1/chat/completions", "messages": "/v1/messages"}


def _no_pids() -> list[int]:
    return []


@dataclass
class Target:
    """A started (or failed) target; ``error`` set means it is reported as failed, never left out."""

    name: str
    label: str
    base_url: str = ""
    authorization: str = ""
    models: Mapping[str, str] = field(default_factory=lambda: FAKE_MODELS)
    modes: tuple[str, ...] = ("chat", "stream")
    cpu_roots: Callable[[], list[int]] = _no_pids
    stack_roots: Callable[[], list[int]] | None = None
    version: str = ""
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"authorization": self.authorization} if self.authorization else {}


def failed(name: str, label: str, error: str) -> Target:
    return Target(name=name, label=label, modes=MODES_OF[name], error=error)


def roots_of(child: Child, needle: str | None = None) -> Callable[[], list[int]]:
    """The child's tree, or only the processes under it whose command line holds ``needle``."""

    def roots() -> list[int]:
        return [child.pid] if needle is None else proctree.matching([child.pid], needle)

    return roots


def start_fakellm(sup: Supervisor, port: int, workers: int) -> Target:
    argv = [PY, "-m", "tollway.fakellm", "serve", "--port", str(port), "--workers", str(workers)]
    child = sup.start("fakellm", argv, {"FAKELLM_LATENCY_MS": "0"})
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", child, 60)
    return Target("direct", "fake upstream (direct)", base, "", FAKE_MODELS, MODES_OF["direct"], roots_of(child))


def start_floor(sup: Supervisor, port: int, workers: int, upstream: str) -> Target:
    argv = [PY, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers), "--log-level", "warning", "--working-dir", str(BENCH_DIR), "floor:app"]
    child = sup.start("floor", argv, {"BENCH_FLOOR_UPSTREAM": upstream})
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", child, 60)
    return Target("floor", "floor (granian + aiohttp)", base, "", FAKE_MODELS, MODES_OF["floor"], roots_of(child))


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float = 10.0) -> tuple[int, bytes]:
    """One POST with urllib (setup and smoke checks only): status and body, HTTP errors included."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - 127.0.0.1 only
    for name, value in {"content-type": "application/json", **headers}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:
        return 0, str(error).encode()


def smoke_body(mode: str, model: str) -> bytes:
    payload: dict[str, object] = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
    }
    if mode == "stream":
        payload |= {"stream": True, "stream_options": {"include_usage": True}}
    return json.dumps(payload).encode()


def smoke(target: Target, mode: str) -> str | None:
    """One request in ``mode``; ``None`` when it answered as a client expects, else what went wrong."""
    status, body = post(target.base_url + PATHS[mode], smoke_body(mode, target.models[mode]), target.headers())
    expected = {"chat": b'"chat.completion"', "stream": b"[DONE]", "messages": b'"message"'}[mode]
    if status == 200 and expected in body and (mode != "stream" or b'"usage"' in body):
        return None
    return f"{mode}: HTTP {status} {body[:200].decode(errors='replace')}"


def wait_smoke(target: Target, mode: str, timeout_s: float) -> None:
    """Retry the smoke request (credit and catalogue caches warm up after start) until it passes."""
    deadline = time.monotonic() + timeout_s
    problem = smoke(target, mode)
    while problem is not None and time.monotonic() < deadline:
        time.sleep(0.5)
        problem = smoke(target, mode)
    if problem is not None:
        raise StartError(problem)
