"""Throwaway local clusters: a 3-node JetStream cluster and a 3-master Redis Cluster, on free ports, own dirs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tollway.testing.processes import ManagedProcess, free_port, nats_server_binary

REDIS_BUS_OFFSET = 10_000  # Redis Cluster's node-to-node bus listens on the client port + 10000


def wait_port(port: int, process: ManagedProcess, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not process.alive:
            raise AssertionError(f"{process.name} exited:\n{process.output()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{process.name} never listened on {port}:\n{process.output()}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_ports(count: int) -> list[int]:
    """Free client ports whose bus ports (+10000) are free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port + REDIS_BUS_OFFSET < 65_536 and _port_free(port + REDIS_BUS_OFFSET) and port not in ports:
            ports.append(port)
    return ports


class LocalRedisCluster:
    """Three masters (no replicas) made a cluster with ``redis-cli --cluster create``; nothing persisted."""

    def __init__(self, masters: int = 3) -> None:
        self.ports = redis_ports(masters)
        self.dir = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
        self.nodes: list[ManagedProcess] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> LocalRedisCluster:
        for port in self.ports:
            argv = [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.dir)),
                *("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"),
                *("--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no"),
            ]
            self.nodes.append(ManagedProcess(f"redis-{port}", argv).start())
        for port, node in zip(self.ports, self.nodes, strict=True):
            wait_port(port, node)
        addresses = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [shutil.which("redis-cli") or "/usr/bin/redis-cli", "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._wait_ok()
        return self

    def _wait_ok(self, within: float = 30.0) -> None:
        """Every node must report ``cluster_state:ok`` (all 16384 slots served) before clients use it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in self.cli(port, "cluster", "info") for port in self.ports):
                return
            time.sleep(0.1)
        raise AssertionError("the Redis Cluster never reached cluster_state:ok")

    def cli(self, port: int, *command: str) -> str:
        redis_cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        done = subprocess.run(
            [redis_cli, "-p", str(port), *command], capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout

    def keys_per_node(self) -> dict[int, int]:
        return {port: int(self.cli(port, "dbsize").strip() or 0) for port in self.ports}

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class LocalNatsCluster:
    """Three JetStream nodes routed to each other; each has its client, cluster and monitoring port and store."""

    def __init__(self, size: int = 3, name: str = "tollway") -> None:
        self.name = name
        self.client_ports = [free_port() for _ in range(size)]
        self.cluster_ports = [free_port() for _ in range(size)]
        self.monitor_ports = [free_port() for _ in range(size)]
        self.dir = Path(tempfile.mkdtemp(prefix="nats-cluster-"))
        self.nodes: list[ManagedProcess] = []

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{port}" for port in self.client_ports)

    def _argv(self, i: int) -> list[str]:
        routes = ",".join(f"nats://127.0.0.1:{port}" for j, port in enumerate(self.cluster_ports) if j != i)
        return [
            nats_server_binary(),
            *("-js", "-a", "127.0.0.1", "-p", str(self.client_ports[i]), "-m", str(self.monitor_ports[i])),
            *("-n", f"n{i}", "-sd", str(self.dir / f"n{i}"), "--cluster_name", self.name),
            *("--cluster", f"nats://127.0.0.1:{self.cluster_ports[i]}", "--routes", routes),
        ]

    def start(self) -> LocalNatsCluster:
        self.nodes = [ManagedProcess(f"nats-n{i}", self._argv(i)).start() for i in range(len(self.client_ports))]
        for port, node in zip(self.client_ports, self.nodes, strict=True):
            wait_port(port, node)
        self.wait_healthy()
        return self

    def wait_healthy(self, within: float = 30.0) -> None:
        """Every live node's ``/healthz`` is 200: JetStream is up and a meta leader elected."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            live = [port for port, node in zip(self.monitor_ports, self.nodes, strict=True) if node.alive]
            if all(_healthy(port) for port in live):
                return
            time.sleep(0.2)
        raise AssertionError("the NATS cluster never became healthy:\n" + self.nodes[0].output()[-2_000:])

    def kill(self, i: int) -> None:
        """SIGKILL node ``i``: its store stays as a crash leaves it."""
        self.nodes[i].kill()

    def revive(self) -> None:
        """Restart every dead node on its own store (it rejoins and catches up) and wait until all are healthy."""
        for i, node in enumerate(self.nodes):
            if not node.alive:
                self.nodes[i] = ManagedProcess(f"nats-n{i}", self._argv(i)).start()
                wait_port(self.client_ports[i], self.nodes[i])
        self.wait_healthy()

    def report(self, lines: int = 15) -> str:
        """Each node's health, meta leader view and last log lines: what a failed cluster test needs to show."""
        parts = []
        for i, (port, node) in enumerate(zip(self.monitor_ports, self.nodes, strict=True)):
            if not node.alive:
                parts.append(f"n{i}: dead")
                continue
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).text
                meta = httpx.get(f"http://127.0.0.1:{port}/jsz", timeout=2).json().get("meta_cluster", {})
            except httpx.HTTPError as exc:
                health, meta = f"unreachable ({exc})", {}
            tail = "\n    ".join(node.output().splitlines()[-lines:])
            parts.append(f"n{i}: {health.strip()} meta leader {meta.get('leader')}\n    {tail}")
        return "\n".join(parts)

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
