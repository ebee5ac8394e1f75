"""Deployment manifests: each k8s overlay renders, validates offline and is wired as designed; compose.yaml is valid."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import msgspec
import pytest
import yaml  # type: ignore[import-untyped]

from tollway.analytics.settings import AnalyticsSettings
from tollway.billing.settings import BillingSettings
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.gateway.settings import GatewaySettings
from tollway.inference_router.catalog_loader import load_catalog
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.settings import InfraSettings

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SETTINGS: dict[str, type[InfraSettings]] = {
    "gateway": GatewaySettings,
    "inference_router": InferenceRouterSettings,
    "billing": BillingSettings,
    "analytics": AnalyticsSettings,
    "error_monitor": ErrorMonitorSettings,
}
# Created by the operator before the first apply (deploy/k8s/README.md): never in the repository.
PROD_SECRETS = {
    "tollway-secrets": {"internal-secret", "key-pepper", "session-secret", "admin-key"},
    "tollway-database": {"gateway", "inference-router", "billing", "analytics", "error-monitor"},
    "tollway-redis": {"url"},
}
Obj = dict[str, Any]


def _script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


check = _script(K8S / "check.py")
render = _script(K8S / "render.py")
stack = _script(ROOT / "deploy" / "local" / "stack.py")


@pytest.fixture(scope="module", params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    objects, _ = check.render_overlay(K8S / "overlays" / request.param)
    return request.param, objects


def _of(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def _containers(obj: Obj) -> Iterator[Obj]:
    spec = obj["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def _tollway_workloads(objects: list[Obj]) -> list[Obj]:
    return [
        obj
        for obj in objects
        if obj["kind"] in ("Deployment", "Job")
        and obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "tollway"
    ]


def test_every_overlay_renders_and_every_object_validates_against_the_kubernetes_schemas(
    overlay: tuple[str, list[Obj]],
) -> None:
    _, objects = overlay
    assert check.problems(objects) == []
    assert len(objects) > 40


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed; render.py alone renders")
@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_builtin_renderer_produces_exactly_what_kubectl_kustomize_does(name: str) -> None:
    folder = K8S / "overlays" / name
    ours, _ = check.render_overlay(folder, kubectl=False)
    theirs, _ = check.render_overlay(folder, kubectl=True)

    def keyed(objects: list[Obj]) -> dict[tuple[str, str], Obj]:
        return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}

    assert keyed(ours) == keyed(theirs)


def test_make_k8s_check_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(K8S / "check.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dev:" in done.stdout
    assert "prod:" in done.stdout


def test_every_role_runs_as_its_own_deployment_and_http_roles_are_probed(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    deployments, services = _of(objects, "Deployment"), _of(objects, "Service")
    for service, port, roles in stack.SERVICES:
        name = service.replace("_", "-")
        for role in ("serve", *roles):
            deployment = deployments[name if role == "serve" else f"{name}-{role}"]
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert container["args"] == [role]
            assert container["image"].split(":")[0] == f"ghcr.io/tollway/{name}"
            if role == "serve":
                assert container["ports"] == [{"name": "http", "containerPort": port}]
                assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
                assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
                assert services[name]["spec"]["ports"][0]["port"] == port
                assert services[name]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
            else:
                assert "ports" not in container  # workers and relays serve no HTTP


def test_every_variable_the_manifests_set_is_a_setting_of_its_service(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    configs = _of(objects, "ConfigMap")
    for service, settings in SETTINGS.items():
        prefix = service.upper() + "_"
        fields = {prefix + field.encode_name.upper() for field in msgspec.structs.fields(settings)}
        config = next(c for name, c in configs.items() if name == f"{service.replace('_', '-')}-env")
        assert set(config["data"]) <= fields
        for workload in _tollway_workloads(objects):
            for container in _containers(workload):
                names = {variable["name"] for variable in container.get("env", [])}
                assert {n for n in names if n.startswith(prefix)} <= fields
    for workload in _tollway_workloads(objects):
        for container in _containers(workload):
            # a service setting with another service's prefix would be silently ignored
            prefixes = {v["name"].split("_")[0] for v in container.get("env", [])}
            assert len(prefixes - {"INFERENCE"}) <= 1 or prefixes == {"INFERENCE"}


def test_serve_processes_listen_on_every_interface_and_services_point_at_each_other(
    overlay: tuple[str, list[Obj]],
) -> None:
    _, objects = overlay
    configs, services = _of(objects, "ConfigMap"), _of(objects, "Service")
    for service, port, _ in stack.SERVICES:
        data = configs[f"{service.replace('_', '-')}-env"]["data"]
        prefix = service.upper() + "_"
        assert (data[prefix + "HOST"], data[prefix + "PORT"]) == ("0.0.0.0", str(port))
    gateway = configs["gateway-env"]["data"]
    for target in ("ROUTER", "BILLING", "ANALYTICS"):
        host, port = gateway[f"GATEWAY_{target}_URL"].removeprefix("http://").split(":")
        assert int(port) == services[host]["spec"]["ports"][0]["port"]


def test_every_secret_reference_resolves(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    secrets = _of(objects, "Secret")
    available: dict[str, set[str]] = {n: set(s.get("data", {})) for n, s in secrets.items()}
    if name == "prod":
        assert not secrets  # no secret value lives in the repository
        available = PROD_SECRETS
    for workload in _tollway_workloads(objects):
        for container in _containers(workload):
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["key"] in available[ref["name"]], (workload["metadata"]["name"], variable["name"])


def test_only_the_gateway_accepts_traffic_from_outside(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    policies = list(_of(objects, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    open_to_all = [
        p["spec"]["podSelector"]["matchLabels"]
        for p in policies
        if any("from" not in rule for rule in p["spec"].get("ingress", []))
    ]
    assert len(deny) == 1
    assert deny[0]["spec"]["policyTypes"] == ["Ingress"]
    assert [labels["app.kubernetes.io/name"] for labels in open_to_all] == ["gateway"]
    for workload in _of(objects, "Deployment").values():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        if labels.get("app.kubernetes.io/component") in ("relay", "worker"):
            selected = [p for p in policies if _selects(p["spec"]["podSelector"], labels) and p["spec"].get("ingress")]
            assert selected == [], workload["metadata"]["name"]


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def test_autoscalers_and_disruption_budgets_target_real_deployments(overlay: tuple[str, list[Obj]]) -> None:
    _, objects = overlay
    deployments = _of(objects, "Deployment")
    for hpa in _of(objects, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for pdb in _of(objects, "PodDisruptionBudget").values():
        matched = [
            d
            for d in deployments.values()
            if _selects(pdb["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(matched) == 1, pdb["metadata"]["name"]
    serve = {
        d["metadata"]["name"]
        for d in deployments.values()
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "serve"
    }
    assert serve <= set(_of(objects, "HorizontalPodAutoscaler"))


def test_the_migrations_job_migrates_every_service_before_anything_else() -> None:
    objects, _ = check.render_overlay(K8S / "overlays" / "prod")
    (job,) = _of(objects, "Job").values()
    steps = list(_containers(job))
    assert [step["args"] for step in steps] == [["migrate"]] * len(SETTINGS)
    assert [step["image"].split("/")[-1].split(":")[0] for step in steps] == [s.replace("_", "-") for s in SETTINGS]


def test_prod_runs_on_a_nats_cluster_with_three_copies_redis_cluster_and_pinned_images() -> None:
    objects, _ = check.render_overlay(K8S / "overlays" / "prod")
    configs = _of(objects, "ConfigMap")
    for service in SETTINGS:
        data = configs[f"{service.replace('_', '-')}-env"]["data"]
        prefix = service.upper() + "_"
        assert len(data[prefix + "NATS_URL"].split(",")) == 3
        assert data[prefix + "NATS_REPLICAS"] == "3"
        assert prefix + "REDIS_URL" not in data  # it carries a password: from the tollway-redis Secret
    for workload in _tollway_workloads(objects):
        for container in _containers(workload):
            assert not container["image"].endswith(":latest")
    gateway = _of(objects, "Service")["gateway"]
    assert gateway["spec"]["type"] == "LoadBalancer"
    assert all(
        s["spec"].get("type", "ClusterIP") == "ClusterIP" for n, s in _of(objects, "Service").items() if n != "gateway"
    )


def test_both_catalogues_load_and_the_dev_one_points_only_at_the_fakellm_service() -> None:
    dev = load_catalog(K8S / "base" / "catalog.yaml")
    prod = load_catalog(K8S / "overlays" / "prod" / "catalog.yaml")
    assert {p.base_url.split("/")[2] for p in dev.providers.values()} == {"fakellm:8090"}
    assert all(p.base_url.startswith("https://") and p.credential_env for p in prod.providers.values())


# compose.yaml: `docker compose config` is not available here, so a schema of the Compose fields the file uses
# (unknown keys are errors, as Compose makes them) plus the references Compose would resolve.
_STRINGS = {"type": "array", "items": {"type": "string"}}
_SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image": {"type": "string"},
        "build": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "context": {"type": "string"},
                "dockerfile": {"type": "string"},
                "args": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
            },
        },
        "command": {"oneOf": [{"type": "string"}, _STRINGS]},
        "entrypoint": {"oneOf": [{"type": "string"}, _STRINGS]},
        "environment": {
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
                _STRINGS,
            ]
        },
        "ports": {"type": "array", "items": {"type": "string", "pattern": r"^(\d+:)?\d+(/(tcp|udp))?$"}},
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "depends_on": {
            "oneOf": [
                _STRINGS,
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["condition"],
                        "properties": {
                            "condition": {
                                "enum": ["service_started", "service_healthy", "service_completed_successfully"]
                            },
                            "restart": {"type": "boolean"},
                            "required": {"type": "boolean"},
                        },
                    },
                },
            ]
        },
        "healthcheck": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "test": {"oneOf": [{"type": "string"}, _STRINGS]},
                "interval": {"type": "string"},
                "timeout": {"type": "string"},
                "retries": {"type": "integer"},
                "start_period": {"type": "string"},
            },
        },
        "volumes": _STRINGS,
    },
}
COMPOSE_SCHEMA = {
    "type": "object",
    "required": ["services"],
    "patternProperties": {"^x-": {}},
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "services": {"type": "object", "additionalProperties": _SERVICE},
        "volumes": {"type": "object"},
    },
}


def test_compose_file_matches_the_compose_schema_and_its_references_resolve() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())  # anchors and merge keys resolved, as Compose does
    jsonschema.validate(compose, COMPOSE_SCHEMA)
    services = compose["services"]
    published = [port.split(":")[0] for s in services.values() for port in s.get("ports", [])]
    assert len(published) == len(set(published))  # no host port published twice
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        target = service.get("build", {}).get("args", {}).get("SERVICE")
        if target in SETTINGS:
            prefix = target.upper() + "_"
            fields = {prefix + f.encode_name.upper() for f in msgspec.structs.fields(SETTINGS[target])}
            assert set(service.get("environment", {})) <= fields, name


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="no `docker compose` here; the schema check above stands in")
def test_docker_compose_accepts_the_file() -> None:
    secrets = {name: "compose-config-check" for name in ("TOLLWAY_INTERNAL_SECRET", "TOLLWAY_KEY_PEPPER")}
    done = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **secrets},
    )
    assert done.returncode == 0, done.stderr
