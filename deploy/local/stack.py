"""``make run``: find or start the infrastructure, migrate, start every service role under one supervisor."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from honcho.manager import Manager

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("TOLLWAY_RUN_DIR", ROOT / ".run"))
PYTHON = sys.executable

# (service, HTTP port, roles besides serve); the order is the start order.
SERVICES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("gateway", 8080, ("relay",)),
    ("inference_router", 8081, ("relay",)),
    ("billing", 8082, ("relay", "worker")),
    ("analytics", 8083, ("relay", "worker")),
    ("error_monitor", 8084, ("relay", "worker")),
)
FAKELLM_PORT = 8090
SMTP_SINK_PORT = 2525  # the local mail sink (python -m tollway.gateway mail-sink): messages land in .run/mail/
REPLICA_PORT_STEP = 100  # with --replicas N, replica r of a service listens on its port + r * 100
# Shifts every port, so a second stack (an e2e test, a branch) can run beside a developer's `make run`.
PORT_OFFSET = int(os.environ.get("TOLLWAY_PORT_OFFSET", "0"))
NAMESPACE = os.environ.get("TOLLWAY_NAMESPACE", "")

INSTALL_HELP = {
    "postgres": "Postgres 14+ must listen on {addr}.\n  Debian/Ubuntu: sudo apt-get install -y postgresql && "
    "sudo pg_ctlcluster $(ls /etc/postgresql) main start\n  macOS: brew install postgresql@16 && "
    "brew services start postgresql@16\n  or set TOLLWAY_DATABASE_URL to a reachable server.",
    "redis": "Redis 6+ must listen on {addr}.\n  Debian/Ubuntu: sudo apt-get install -y redis-server && "
    "redis-server --daemonize yes\n  macOS: brew install redis && brew services start redis\n"
    "  or set TOLLWAY_REDIS_URL to a reachable server.",
}


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1).close()
    except OSError:
        return False
    return True


def require(name: str, url: str, port: int) -> None:
    if not reachable(url, port):
        parts = urlsplit(url)
        sys.stderr.write(f"tollway: {name} is not running.\n{INSTALL_HELP[name].format(addr=parts.netloc)}\n")
        raise SystemExit(1)


def embedded_nats(url: str) -> list[str] | None:
    """The command of an embedded JetStream server when none answers at ``url`` (never for a list of servers)."""
    if "," in url or reachable(url, 4222):
        return None
    binary = shutil.which("nats-server", path=f"{Path(PYTHON).parent}:{os.environ.get('PATH', '')}")
    if binary is None:
        sys.stderr.write(f"tollway: no NATS at {url} and no nats-server binary; run `uv sync`.\n")
        raise SystemExit(1)
    port = urlsplit(url).port or 4222
    return [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(RUN_DIR / "nats")]


async def ensure_database(url: str) -> None:
    parts = urlsplit(url.replace("+asyncpg", ""))
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def admin_key() -> str:
    """The local stack's admin key: made once, kept in ``.run/admin.key`` so scripts keep working across runs."""
    path = RUN_DIR / "admin.key"
    if not path.exists():
        path.write_text("tw_admin_" + secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def catalog_path() -> Path:
    """The catalogue with its fake-upstream URLs moved by the port offset (the file itself is for port 8090)."""
    source = ROOT / "deploy" / "config" / "catalog.yaml"
    if PORT_OFFSET == 0:
        return source
    shifted = RUN_DIR / "catalog.yaml"
    shifted.write_text(source.read_text().replace("127.0.0.1:8090", f"127.0.0.1:{FAKELLM_PORT + PORT_OFFSET}"))
    return shifted


def fake_admin_apis() -> dict[str, str]:
    """Analytics imports provider usage from the fake upstream's admin APIs, filed under the catalogue's ids."""
    fake = f"http://127.0.0.1:{FAKELLM_PORT + PORT_OFFSET}"
    return {
        f"ANALYTICS_{name}_{setting}": value
        for name, provider_id in (("ANTHROPIC", "fake-anthropic"), ("OPENAI", "fake-openai"))
        for setting, value in (("ADMIN_URL", fake), ("ADMIN_KEY", "fakellm-admin-key"), ("PROVIDER_ID", provider_id))
    }


def service_env(service: str, port: int, urls: dict[str, str], workers: int, replica: int = 0) -> dict[str, str]:
    prefix = service.upper() + "_"
    shift = PORT_OFFSET + replica * REPLICA_PORT_STEP  # each gateway replica talks to the same replica of the others
    extra = {
        "gateway": {
            "GATEWAY_ADMIN_KEY": admin_key(),
            "GATEWAY_ROUTER_URL": f"http://127.0.0.1:{8081 + shift}",
            "GATEWAY_BILLING_URL": f"http://127.0.0.1:{8082 + shift}",
            "GATEWAY_ANALYTICS_URL": f"http://127.0.0.1:{8083 + shift}",
            "GATEWAY_ERROR_MONITOR_URL": f"http://127.0.0.1:{8084 + shift}",
            "GATEWAY_SMTP_PORT": str(SMTP_SINK_PORT + PORT_OFFSET),
            "GATEWAY_MAIL_SINK_DIR": str(RUN_DIR / "mail"),
            "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{8080 + PORT_OFFSET}",
        },
        "inference_router": {"INFERENCE_ROUTER_CATALOG_PATH": str(catalog_path())},
        "analytics": fake_admin_apis(),
    }.get(service, {})
    return {
        **extra,
        **os.environ,
        "TOLLWAY_ENV": "development",  # the local stack runs on the development secrets (refused elsewhere)
        prefix + "DATABASE_URL": urls["database"],
        prefix + "NATS_URL": urls["nats"],
        prefix + "REDIS_URL": urls["redis"],
        prefix + "PORT": str(port + shift),
        prefix + "NATS_REPLICAS": os.environ.get("TOLLWAY_NATS_REPLICAS", "1"),
        prefix + "NAMESPACE": NAMESPACE,
        prefix + "WORKERS": str(workers),
        prefix + "LOG_LEVEL": os.environ.get("TOLLWAY_LOG_LEVEL", "INFO"),
        "PYTHONUNBUFFERED": "1",
    }


def migrate(urls: dict[str, str]) -> None:
    for service, port, _ in SERVICES:
        env = service_env(service, port, urls, 1)
        subprocess.run([PYTHON, "-m", f"tollway.{service}", "migrate"], env=env, check=True, cwd=ROOT)  # noqa: S603


def replica_shifts(replicas: int) -> list[int]:
    return [PORT_OFFSET + r * REPLICA_PORT_STEP for r in range(replicas)]


def seed_demo(urls: dict[str, str], replicas: int = 1) -> dict[str, str]:
    """A demo user and a fresh key; written to ``.run/demo.env`` for scripts (the key is shown once)."""
    env = service_env("gateway", 8080, urls, 1)
    output = subprocess.run(  # noqa: S603
        [PYTHON, "-m", "tollway.gateway", "seed-demo"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout
    demo = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    demo["TOLLWAY_BASE_URL"] = f"http://127.0.0.1:{8080 + PORT_OFFSET}"
    demo["TOLLWAY_BASE_URLS"] = ",".join(f"http://127.0.0.1:{8080 + shift}" for shift in replica_shifts(replicas))
    demo["TOLLWAY_ADMIN_KEY"] = admin_key()
    path = RUN_DIR / "demo.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(demo.items())))
    path.chmod(0o600)
    return demo


def ready_urls(replicas: int = 1) -> dict[str, str]:
    urls = {
        replica_name(service, r, replicas): f"http://127.0.0.1:{port + shift}/ready"
        for service, port, _ in SERVICES
        for r, shift in enumerate(replica_shifts(replicas))
    }
    urls["fakellm"] = f"http://127.0.0.1:{FAKELLM_PORT + PORT_OFFSET}/health"
    return urls


def wait_until_ready(manager: Manager, started: float, timeout: float, demo: dict[str, str], replicas: int = 1) -> None:
    pending = ready_urls(replicas)
    while pending and time.monotonic() - started < timeout:
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local URLs only
                    if response.status == 200:
                        del pending[name]
            except OSError:
                pass
        time.sleep(0.25)
    if pending:
        sys.stdout.write(f"\ntollway: not ready after {timeout:.0f}s: {', '.join(sorted(pending))}\n")
        manager.terminate()
        return
    print_banner(time.monotonic() - started, demo, replicas)


def print_banner(seconds: float, demo: dict[str, str], replicas: int = 1) -> None:
    base, key = demo["TOLLWAY_BASE_URL"], demo["TOLLWAY_API_KEY"]
    lines = [
        "",
        f"Tollway is up ({seconds:.1f}s). Every /ready is green.",
        *(
            f"  {replica_name(name, r, replicas):<17} http://127.0.0.1:{port + shift}"
            for name, port, _ in SERVICES
            for r, shift in enumerate(replica_shifts(replicas))
        ),
        f"  {'fake upstream':<17} http://127.0.0.1:{FAKELLM_PORT + PORT_OFFSET}",
        "",
        "Demo user and key (also in .run/demo.env):",
        f"  export TOLLWAY_BASE_URL={base} TOLLWAY_API_KEY={key}",
        f"Console: {base}/console/ (sign in with the key above; operators use TOLLWAY_ADMIN_KEY from .run/demo.env)",
        "Try:",
        f"  curl -s {base}/v1/chat/completions -H 'authorization: Bearer {key}' -H 'content-type: application/json' \\",
        '       -d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}\'',
        '  python -c \'import os, openai; c = openai.OpenAI(base_url=os.environ["TOLLWAY_BASE_URL"] + "/v1",',
        '    api_key=os.environ["TOLLWAY_API_KEY"]); print(c.chat.completions.create(model="gpt-4o-mini",',
        '    messages=[{"role": "user", "content": "hello"}]).choices[0].message.content)\'',
        "Ctrl-C stops everything.",
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def background_roles() -> list[str]:
    """The roles ``--without`` may leave out: relays and workers (every ``serve`` is needed for the banner)."""
    return [f"{service}.{role}" for service, _, roles in SERVICES for role in roles]


def replica_name(name: str, replica: int, replicas: int) -> str:
    """``gateway`` with one replica; ``gateway#1``, ``gateway#2`` with two."""
    return name if replicas == 1 else f"{name}#{replica + 1}"


def restarted(name: str, command: str) -> str:
    """``command`` in a shell loop that starts it again a second after it crashes (compose's ``on-failure``).

    A clean exit (0) ends the loop; Ctrl-C or SIGTERM from the supervisor stops the command and the loop together.
    """
    return (
        'trap \'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0\' INT TERM; '
        f'while :; do {command} & child=$!; wait "$child"; code=$?; [ "$code" -eq 0 ] && exit 0; '
        f'echo "{name} exited with $code; restarting in 1 s" >&2; sleep 1; done'
    )


def build_manager(
    urls: dict[str, str],
    nats_cmd: list[str] | None,
    workers: int,
    without: frozenset[str] = frozenset(),
    replicas: int = 1,
    *,
    restart: bool = False,
) -> Manager:
    manager = Manager()
    if nats_cmd:
        manager.add_process("nats", " ".join(nats_cmd), cwd=str(ROOT))
    fake_port = FAKELLM_PORT + PORT_OFFSET
    manager.add_process("fakellm", f"{PYTHON} -m tollway.fakellm serve --port {fake_port}", cwd=str(ROOT))
    # Account mail (ADR 009): one mailer sends the gateway's mail outbox to a local SMTP sink writing .run/mail/.
    mail_env = service_env("gateway", 8080, urls, workers)
    manager.add_process("mail-sink", f"{PYTHON} -m tollway.gateway mail-sink", env=mail_env, cwd=str(ROOT))
    manager.add_process("gateway.mailer", f"{PYTHON} -m tollway.gateway mailer", env=mail_env, cwd=str(ROOT))
    for service, port, roles in SERVICES:
        for replica in range(replicas):
            env = service_env(service, port, urls, workers, replica)
            for role in ("serve", *roles):
                if f"{service}.{role}" in without:
                    continue
                name = replica_name(f"{service}.{role}" if role != "serve" else service, replica, replicas)
                command = f"{PYTHON} -m tollway.{service} {role}"
                command = restarted(name, command) if restart else command
                manager.add_process(name, command, env=env, cwd=str(ROOT))
    return manager


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole Tollway stack locally.")
    parser.add_argument("--workers", type=int, default=1, help="granian workers per service")
    parser.add_argument("--replicas", type=int, default=1, help="processes of every serve/worker/relay role")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds to wait for every /ready")
    parser.add_argument(
        "--restart-crashed",
        action="store_true",
        help="start a crashed service role again after 1 s instead of stopping the stack (what make chaos uses)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=background_roles(),
        metavar="SERVICE.ROLE",
        help="leave this role out, to run it yourself (a debugger, a crash test); repeatable, e.g. billing.worker",
    )
    args = parser.parse_args()
    started = time.monotonic()
    urls = {
        "database": os.environ.get("TOLLWAY_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/tollway"),
        "nats": os.environ.get("TOLLWAY_NATS_URL", "nats://127.0.0.1:4222"),
        "redis": os.environ.get("TOLLWAY_REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    require("postgres", urls["database"], 5432)
    require("redis", urls["redis"], 6379)
    RUN_DIR.mkdir(exist_ok=True)
    nats_cmd = embedded_nats(urls["nats"])
    asyncio.run(ensure_database(urls["database"]))
    manager = build_manager(
        urls, nats_cmd, args.workers, frozenset(args.without), max(1, args.replicas), restart=args.restart_crashed
    )
    migrate(urls)  # needs only Postgres; an embedded NATS starts with the services below
    demo = seed_demo(urls, max(1, args.replicas))
    waiter = threading.Thread(
        target=wait_until_ready, args=(manager, started, args.ready_timeout, demo, max(1, args.replicas)), daemon=True
    )
    waiter.start()
    manager.loop()
    sys.exit(manager.returncode)


if __name__ == "__main__":
    main()
