"""The LiteLLM proxy target: a pinned ``litellm[proxy]`` in its own virtualenv, no database, same fake upstream."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import msgspec

from tests.bench.processes import StartError, Supervisor, wait_http
from tests.bench.targets import MODES_OF, Target, roots_of, wait_smoke

# The newest release whose pinned extras resolve from the package index this project uses (see docs/adr/005).
VERSION = "1.106.2"
VENV = Path(os.environ.get("BENCH_LITELLM_VENV", Path.home() / ".cache" / "tollway-bench" / "litellm-venv"))
PIN_FILE = VENV / ".tollway-bench-pin"
INSTALL_TIMEOUT_S = 900
MODELS = {"chat": "gpt-4o-mini", "stream": "gpt-4o-mini", "messages": "-", "paced": "bench-paced"}


def installed() -> bool:
    return (VENV / "bin" / "litellm").exists() and PIN_FILE.exists() and PIN_FILE.read_text().strip() == VERSION


def ensure_installed(log: Path) -> None:
    """Create the virtualenv and pip-install the pinned proxy once; later runs reuse it."""
    if installed():
        return
    sys.stdout.write(f"bench: installing litellm[proxy]=={VERSION} into {VENV} (once; log: {log})\n")
    sys.stdout.flush()
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(VENV)],
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", f"litellm[proxy]=={VERSION}"],
        ]
        for argv in steps:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S, check=False)
            if done.returncode != 0:
                raise StartError(f"installing LiteLLM failed ({' '.join(argv[:4])}...): see {log}")
    PIN_FILE.write_text(VERSION + "\n")


def model_entry(name: str, upstream_model: str, upstream: str) -> dict[str, object]:
    params = {"model": f"openai/{upstream_model}", "api_base": f"{upstream}/v1", "api_key": "fake-key"}
    return {"model_name": name, "litellm_params": params}


def write_config(folder: Path, upstream: str, master_key: str) -> Path:
    """Two models on the fake upstream, master key set, no database, no callbacks."""
    config = {
        "model_list": [
            model_entry("gpt-4o-mini", "fake-gpt-mini", upstream),
            model_entry("bench-paced", "fake-gpt-mini+tps=1000", upstream),
        ],
        "litellm_settings": {"callbacks": [], "success_callback": [], "failure_callback": [], "drop_params": True},
        "general_settings": {"master_key": master_key},
    }
    path = folder / "litellm-config.yaml"
    path.write_bytes(msgspec.yaml.encode(config))
    return path


def start(sup: Supervisor, port: int, workers: int, upstream: str, folder: Path) -> Target:
    ensure_installed(folder / "litellm-install.log")
    master_key = "sk-bench-" + secrets.token_hex(8)
    argv = [str(VENV / "bin" / "litellm"), "--config", str(write_config(folder, upstream, master_key))]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]
    env: dict[str, str | None] = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "DATABASE_URL": None}
    child = sup.start("litellm", argv, env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health/liveliness", child, 180)
    target = Target(
        name="litellm",
        label=f"LiteLLM proxy {VERSION}",
        base_url=base,
        authorization=f"Bearer {master_key}",
        models=MODELS,
        modes=MODES_OF["litellm"],
        cpu_roots=roots_of(child),
        version=VERSION,
    )
    wait_smoke(target, "chat", 30)
    return target
