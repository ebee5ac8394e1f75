"""Dashboards and alerts query only metrics the services' ``/metrics`` really export, and cover what operators watch."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient

from tollway.analytics.app import create_app as analytics_app
from tollway.analytics.settings import AnalyticsSettings
from tollway.billing.app import create_app as billing_app
from tollway.billing.settings import BillingSettings
from tollway.error_monitor.app import create_app as error_monitor_app
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.gateway.app import create_app as gateway_app
from tollway.gateway.settings import GatewaySettings
from tollway.inference_router.app import create_app as router_app
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

pytestmark = pytest.mark.contract

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
# Series Prometheus makes itself for every target; no service exports them.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {
    *("sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev", "group"),
    *("rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "clamp_min", "clamp_max"),
    *("abs", "absent", "vector", "scalar", "time", "label_replace", "avg_over_time", "max_over_time", "sum_over_time"),
    *("by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"),
}
# What the issue asks the dashboards to show, each with a metric that shows it.
REQUIRED = {
    "request rate": "tollway_hot_request_seconds_count",
    "latency": "tollway_hot_request_seconds_bucket",
    "TTFT": "tollway_router_ttft_seconds_bucket",
    "errors": "tollway_router_requests_total",
    "fallbacks": "tollway_router_fallbacks_total",
    "breaker state": "tollway_router_breaker_transitions_total",
    "consumer lag": "tollway_consumer_pending_messages",
    "outbox backlog": "tollway_outbox_backlog_events",
    "balance-low events": "tollway_stream_subject_messages",
}
REQUIRED_ALERTS = {
    "consumer lag": "tollway_consumer_pending_messages",
    "outbox backlog": "tollway_outbox_oldest_age_seconds",
    "breaker open": "tollway_router_breaker_transitions_total",
    "error rate": "tollway_hot_request_seconds_count",
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label names, functions, durations and literals left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {token for token in tokens if token not in PROMQL_WORDS and not re.fullmatch(r"\d*e\d*|inf|nan", token)}


def _panel_queries(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for panel in panels:
        yield from _panel_queries(panel.get("panels", []))
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def dashboard_queries() -> list[tuple[str, str, str]]:
    return [
        (path.name, title, expr)
        for path in DASHBOARDS
        for title, expr in _panel_queries(json.loads(path.read_text())["panels"])
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def exported_names(exposition: str) -> set[str]:
    """Every series name a Prometheus text exposition can carry, from its ``# TYPE`` lines and its samples."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names |= {name, f"{name}_created"}
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            if kind in ("summary", "gaugehistogram"):
                names |= {f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _apps(database_url: str, infra: LocalInfra, ns: str) -> list[Litestar]:
    common: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": infra.nats_url,
        "redis_url": infra.redis_url,
        "namespace": ns,
    }
    return [
        gateway_app(GatewaySettings(**common, key_pepper="metrics-test-pepper")),
        router_app(InferenceRouterSettings(**common)),
        billing_app(BillingSettings(**common)),
        analytics_app(AnalyticsSettings(**common)),
        error_monitor_app(ErrorMonitorSettings(**common)),
    ]


@pytest.fixture
async def exported(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: NatsClient
) -> dict[str, set[str]]:
    """Each service started in-process on the test's database and namespace: what its ``/metrics`` lists."""
    found: dict[str, set[str]] = {}
    for app in _apps(database_url, test_infra, namespace.prefix):
        async with AsyncTestClient(app) as client:
            assert (await client.get("/health")).status_code == 200  # a request through the framework's middleware
            answer = await client.get("/metrics")
            assert answer.status_code == 200
            found[app.state.infra.service] = exported_names(answer.text)
    return found


def test_the_promql_reader_finds_metrics_and_nothing_else() -> None:
    expr = 'sum by (le, route) (rate(a_bucket{service="x",s=~"5.."}[5m])) / clamp_min(sum(rate(b_total[1h:1m])), 1e-9)'
    assert metric_names(expr) == {"a_bucket", "b_total"}
    assert metric_names('max(delta(c{subject="billing.balance.low.v1"}[24h])) > 100 and up == 0') == {"c", "up"}


async def test_every_metric_in_the_dashboards_and_alerts_is_exported_by_a_service(
    exported: dict[str, set[str]],
) -> None:
    available = set().union(*exported.values()) | SYNTHETIC
    used = {
        **{f"{file} / {title}": metric_names(expr) for file, title, expr in dashboard_queries()},
        **{f"alert {rule['alert']}": metric_names(rule["expr"]) for rule in alert_rules()},
    }
    missing = {where: sorted(names - available) for where, names in used.items() if names - available}

    assert set(exported) == {"gateway", "inference_router", "billing", "analytics", "error_monitor"}
    assert missing == {}
    assert all(names for names in used.values())  # every query reads at least one metric


def test_the_dashboards_show_and_the_alerts_watch_what_operators_need() -> None:
    shown = set().union(*(metric_names(expr) for _, _, expr in dashboard_queries()))
    watched = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))

    assert {need: metric for need, metric in REQUIRED.items() if metric not in shown} == {}
    assert {need: metric for need, metric in REQUIRED_ALERTS.items() if metric not in watched} == {}
    assert any("billing.balance.low.v1" in expr for _, _, expr in dashboard_queries())


def test_dashboards_are_grafana_json_with_unique_ids_and_a_datasource_variable() -> None:
    uids = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.append(board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
        assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"] if "datasource" in p)
    assert len(uids) == len(set(uids)) >= 2


def test_prometheus_config_loads_the_alert_rules_and_every_rule_is_complete() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert [(DEPLOY / "prometheus" / name).exists() for name in config["rule_files"]] == [True]
    assert {job["job_name"] for job in config["scrape_configs"]} == {"tollway-local", "tollway-kubernetes"}
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("page", "ticket", "info")
        assert rule["annotations"]["summary"]


def test_collector_config_wires_every_pipeline_to_declared_components() -> None:
    config = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), kind
    assert "traces" in config["service"]["pipelines"]
