"""The Tollway target: the whole stack as ``make run`` starts it, pointed at the bench's fake upstream, with credit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import msgspec

from tests.bench.infra import Infra, purge, reset_database
from tests.bench.processes import ROOT, Child, StartError, Supervisor, wait_line
from tests.bench.targets import MODES_OF, PUBLIC_MODELS, PY, Target, post, wait_smoke
from tollway.testing import proctree
from tollway.testing.stack import stack_port_offset

CATALOG = ROOT / "deploy" / "config" / "catalog.yaml"
NAMESPACE = "benchhttp"
WORKERS = ("billing", "analytics")  # the consumers of the usage events the bench's requests produce
PACED_MODEL = {
    "id": "bench-paced",
    "context_window": 128000,
    "max_output_tokens": 16384,
    "deployments": [{"provider": "fake-openai", "upstream_model": "fake-gpt-mini+tps=1000"}],
    "prices": {"input": 150000, "output": 600000, "cache_read": 75000, "cache_write": 150000},
}


@dataclass(frozen=True)
class StackConfig:
    upstream: str  # the bench's fake upstream, e.g. http://127.0.0.1:PORT
    workers: int
    run_dir: Path
    infra: Infra
    database: str  # dropped and recreated at every start
    grant_micros: int
    idempotency_key: str


def write_catalog(upstream: str, folder: Path) -> Path:
    """The repo's catalogue with every provider on the bench's upstream, plus a paced model for the TTFT probe."""
    catalog = msgspec.yaml.decode(CATALOG.read_bytes())
    for provider in catalog["providers"]:
        provider["base_url"] = provider["base_url"].replace("http://127.0.0.1:8090", upstream)
    catalog["models"].append(PACED_MODEL)
    path = folder / "bench-catalog.yaml"
    path.write_bytes(msgspec.yaml.encode(catalog))
    return path


def stack_env(config: StackConfig, offset: int, catalog: Path) -> dict[str, str]:
    return {
        "TOLLWAY_PORT_OFFSET": str(offset),
        "TOLLWAY_NAMESPACE": NAMESPACE,
        "TOLLWAY_RUN_DIR": str(config.run_dir),
        "TOLLWAY_LOG_LEVEL": "WARNING",
        "TOLLWAY_DATABASE_URL": config.infra.database(config.database),
        "TOLLWAY_NATS_URL": config.infra.nats,
        "TOLLWAY_REDIS_URL": config.infra.redis,
        "INFERENCE_ROUTER_CATALOG_PATH": str(catalog),
        "GATEWAY_RPM": "0",
        "GATEWAY_TPM": "0",
        "GATEWAY_RPD": "0",
    }


def worker_env(service: str, config: StackConfig) -> dict[str, str]:
    prefix = service.upper() + "_"
    infra = config.infra
    values = {"DATABASE_URL": infra.database(config.database), "NATS_URL": infra.nats, "REDIS_URL": infra.redis}
    return {prefix + k: v for k, v in {**values, "NAMESPACE": NAMESPACE, "LOG_LEVEL": "WARNING"}.items()}


def read_env_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def add_missing_workers(sup: Supervisor, stack: Child, config: StackConfig) -> tuple[list[Child], list[str]]:
    """Start the billing/analytics workers ``make run`` does not (yet) start, so usage events are consumed."""
    started, notes = [], []
    for service in WORKERS:
        if not proctree.matching([stack.pid], f"tollway.{service} worker"):
            argv = [PY, "-m", f"tollway.{service}", "worker"]
            started.append(sup.start(f"tollway-{service}-worker", argv, worker_env(service, config)))
            notes.append(f"the stack runs no {service} worker; the bench started one beside it")
    return started, notes


def grant_credit(base_url: str, admin_key: str, user_id: str, config: StackConfig) -> str:
    """Credit for the demo account through the gateway's admin API; returns a note for the report."""
    url = f"{base_url}/admin/v1/accounts/{user_id}/grants"
    body = json.dumps({"amount_micros": config.grant_micros, "description": "benchmark credit"}).encode()
    headers = {"authorization": f"Bearer {admin_key}", "idempotency-key": config.idempotency_key}
    status, answer = post(url, body, headers)
    if status in (200, 201):
        return f"granted ${config.grant_micros / 1e6:,.2f} to the demo account"
    detail = answer[:160].decode(errors="replace")
    return f"credit grant not available through the gateway (POST /admin/v1/accounts/{{id}}/grants: {status} {detail})"


async def reset(config: StackConfig) -> None:
    await reset_database(config.infra.database(config.database))
    await purge(config.infra, NAMESPACE)


def start(sup: Supervisor, config: StackConfig) -> Target:
    config.run_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(reset(config))
    offset = stack_port_offset()  # below the ephemeral range, where no other process's free port can land
    env = stack_env(config, offset, write_catalog(config.upstream, config.run_dir))
    stack = sup.start("tollway-stack", [PY, "deploy/local/stack.py", "--workers", str(config.workers)], env)
    try:
        if wait_line(stack, ["Tollway is up", "not ready after"], 180) != "Tollway is up":
            raise StartError(f"the Tollway stack did not get ready: {stack.tail()} [log: {stack.log}]")
        return ready(sup, stack, config)
    except (StartError, OSError, KeyError):
        sup.stop(stack)  # a failed stack must not keep burning CPU while the other targets run
        raise


def ready(sup: Supervisor, stack: Child, config: StackConfig) -> Target:
    demo = read_env_file(config.run_dir / "demo.env")
    workers, notes = add_missing_workers(sup, stack, config)
    base_url, user_id = demo["TOLLWAY_BASE_URL"], demo["TOLLWAY_DEMO_USER_ID"]
    notes.append(grant_credit(base_url, demo["TOLLWAY_ADMIN_KEY"], user_id, config))
    target = Target(
        name="tollway",
        label="Tollway (gateway + router)",
        base_url=demo["TOLLWAY_BASE_URL"],
        authorization=f"Bearer {demo['TOLLWAY_API_KEY']}",
        models=PUBLIC_MODELS,
        modes=MODES_OF["tollway"],
        cpu_roots=lambda: (
            proctree.matching([stack.pid], "tollway.gateway serve")
            + proctree.matching([stack.pid], "tollway.inference_router serve")
        ),
        stack_roots=lambda: [stack.pid, *(w.pid for w in workers)],
        notes=notes,
    )
    try:
        wait_smoke(target, "chat", 20)
    except StartError as error:
        sup.stop(*workers)
        raise StartError(f"{error} ({'; '.join(notes)})") from None
    return target
