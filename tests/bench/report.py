"""The results: rows and derived ratios, the issue's targets met or not, as JSON and markdown (and README)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tests.bench.pipeline import PipelineResult

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


@dataclass
class Row:
    """One (target, mode, connections) configuration: medians over its repetitions, errors summed."""

    target: str
    mode: str
    connections: int
    status: str = "ok"  # ok | failed
    reason: str = ""
    requests: int = 0
    rps: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    cpu_s_per_1k: float | None = None
    stack_cpu_s_per_1k: float | None = None
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None
    vs_direct: float | None = None
    vs_floor: float | None = None
    vs_litellm: float | None = None
    repetitions: list[dict[str, float]] = field(default_factory=list)


@dataclass
class TtftRow:
    target: str
    status: str = "ok"
    reason: str = ""
    samples: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    added_p50_ms: float | None = None
    stream_p50_ms: float | None = None


@dataclass
class Goal:
    name: str
    threshold: str
    measured: str
    met: bool | None  # None: could not be measured in this run


@dataclass
class Idle:
    """The whole stack with no traffic: CPU of every Tollway process over a window."""

    seconds: float
    cpu_s: float
    drained_s: float = 0.0  # how long the stack kept working after the last request, before the window

    @property
    def percent_of_core(self) -> float:
        return 100 * self.cpu_s / self.seconds if self.seconds else float("nan")


@dataclass
class Report:
    generated_at: str
    quick: bool
    plan: dict[str, Any]
    machine: dict[str, Any]
    versions: dict[str, str]
    targets: dict[str, dict[str, Any]]
    rows: list[Row]
    ttft: list[TtftRow]
    pipeline: PipelineResult | None
    idle: Idle | None = None
    goals: list[Goal] = field(default_factory=list)


def find(rows: Iterable[Row], target: str, mode: str, connections: int) -> Row | None:
    for row in rows:
        if (row.target, row.mode, row.connections) == (target, mode, connections) and row.status == "ok":
            return row
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def derive(report: Report) -> None:
    """Fill the comparisons: added latency and throughput ratios against direct, the floor and LiteLLM."""
    for row in report.rows:
        direct = find(report.rows, "direct", row.mode, row.connections)
        floor = find(report.rows, "floor", row.mode, row.connections)
        litellm = find(report.rows, "litellm", row.mode, row.connections)
        if row.status != "ok" or direct is None:
            continue
        row.added_p50_ms = diff(row.p50_ms, direct.p50_ms)
        row.added_p99_ms = diff(row.p99_ms, direct.p99_ms)
        row.vs_direct = ratio(row.rps, direct.rps)
        row.vs_floor = ratio(row.rps, floor.rps if floor else None)
        row.vs_litellm = ratio(row.rps, litellm.rps if litellm else None) if row.target == "tollway" else None
    direct_ttft = next((t for t in report.ttft if t.target == "direct" and t.status == "ok"), None)
    for t in report.ttft:
        t.added_p50_ms = diff(t.p50_ms, direct_ttft.p50_ms if direct_ttft else None)
    report.goals = goals(report)


def _goal(name: str, threshold: str, value: float | None, unit: str, ok: bool | None) -> Goal:
    measured = "not measured" if value is None else f"{value:,.2f}{unit}"
    return Goal(name, threshold, measured, ok if value is not None else None)


def goals(report: Report) -> list[Goal]:
    """The issue's targets (reported, not asserted)."""
    top = max((row.connections for row in report.rows), default=0)
    seq = find(report.rows, "tollway", "chat", 1)
    sat = find(report.rows, "tollway", "chat", top)
    floor = find(report.rows, "floor", "chat", top)
    ttft = next((t for t in report.ttft if t.target == "tollway"), None)
    added_ttft = ttft.added_p50_ms if ttft else None
    cpu = ratio(sat.cpu_s_per_1k if sat else None, floor.cpu_s_per_1k if floor else None)
    vs_floor, vs_litellm = (sat.vs_floor, sat.vs_litellm) if sat else (None, None)
    p50, p99 = (seq.added_p50_ms, seq.added_p99_ms) if seq else (None, None)
    found = [
        _goal("added latency, sequential chat p50", "<= 2.5 ms", p50, " ms", p50 is not None and p50 <= 2.5),
        _goal("added latency, sequential chat p99", "<= 8 ms", p99, " ms", p99 is not None and p99 <= 8),
        _goal("TTFT added (p50)", "<= 2.5 ms", added_ttft, " ms", added_ttft is not None and added_ttft <= 2.5),
        _goal(f"throughput vs floor (chat, {top} conns)", ">= 0.3x", vs_floor, "x", (vs_floor or 0) >= 0.3),
        _goal(f"throughput vs LiteLLM (chat, {top} conns)", ">= 15x", vs_litellm, "x", (vs_litellm or 0) >= 15),
        _goal(f"CPU per 1k requests vs floor (chat, {top} conns)", "<= 4x", cpu, "x", cpu is not None and cpu <= 4),
    ]
    return found + pipeline_goals(report.pipeline) + idle_goals(report.idle)


def pipeline_goals(pipeline: PipelineResult | None) -> list[Goal]:
    found = []
    for name in ("billing", "analytics"):
        consumer = pipeline.consumers.get(name) if pipeline else None
        rate = consumer.events_per_s if consumer else None
        lag = consumer.paced_lag_p99_ms / 1000 if consumer and consumer.paced_lag_p99_ms is not None else None
        offered = f"{pipeline.paced_rate:,}/s offered" if pipeline else "paced"
        found.append(_goal(f"{name} events/s (backlog drain)", ">= 10,000", rate, "/s", (rate or 0) >= 10_000))
        found.append(_goal(f"{name} lag p99 ({offered})", "< 1 s", lag, " s", lag is not None and lag < 1))
    return found


def idle_goals(idle: Idle | None) -> list[Goal]:
    share = idle.percent_of_core if idle else None
    window = f"{idle.seconds:.0f} s" if idle else "no traffic"
    return [
        _goal(f"idle stack, every process ({window})", "< 5% of one core", share, "%", share is not None and share < 5)
    ]


def to_json(report: Report) -> bytes:
    return msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def http_table(report: Report) -> list[str]:
    lines = [
        "| target | mode | conns | req/s | p50 ms | p90 ms | p99 ms | errors | added p50 ms | added p99 ms "
        "| x direct | x floor | x LiteLLM | CPU s / 1k req |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in report.rows:
        if r.status != "ok":
            lines.append(f"| {r.target} | {r.mode} | {r.connections} | **failed** | {r.reason[:90]} |||||||||")
            continue
        cpu = num(r.cpu_s_per_1k, 3) + (f" (stack {num(r.stack_cpu_s_per_1k, 3)})" if r.stack_cpu_s_per_1k else "")
        lines.append(
            f"| {r.target} | {r.mode} | {r.connections} | {num(r.rps, 0)} | {num(r.p50_ms)} | {num(r.p90_ms)} "
            f"| {num(r.p99_ms)} | {r.errors} | {num(r.added_p50_ms)} | {num(r.added_p99_ms)} | {num(r.vs_direct)} "
            f"| {num(r.vs_floor)} | {num(r.vs_litellm, 1)} | {cpu} |"
        )
    return lines


def ttft_table(report: Report) -> list[str]:
    lines = [
        "| target | TTFT p50 ms | p90 ms | p99 ms | added p50 ms | whole stream p50 ms | samples | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for t in report.ttft:
        if t.status != "ok":
            lines.append(f"| {t.target} | **failed** | {t.reason[:90]} ||||||")
            continue
        lines.append(
            f"| {t.target} | {num(t.p50_ms)} | {num(t.p90_ms)} | {num(t.p99_ms)} | {num(t.added_p50_ms)} "
            f"| {num(t.stream_p50_ms)} | {t.samples} | {t.errors} |"
        )
    return lines


def pipeline_lines(pipeline: PipelineResult | None) -> list[str]:
    if pipeline is None:
        return ["Not run."]
    lines = [
        f"{pipeline.events:,} `router.request.completed.v1` events, published with {pipeline.method}; "
        f"{pipeline.workers} worker process(es) per consumer service on one durable."
    ]
    lines.append(
        f"Publishing took {num(pipeline.publish_s)} s ({num(pipeline.publish_per_s, 0)} events/s); then the workers "
        "started and drained that backlog (events/s from each consumer's first write to its last)."
    )
    if pipeline.error:
        lines.append(f"Error: {pipeline.error}")
    lines.append(
        f"Then {pipeline.paced_events:,} more at a steady {pipeline.paced_rate:,} events/s: the lag a consumer "
        "shows when it is offered the target rate rather than a backlog."
    )
    lines += [
        "",
        "| consumer | status | rows | drain seconds | drain events/s | paced lag p50 ms | paced lag p99 ms | detail |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for c in pipeline.consumers.values():
        lines.append(
            f"| {c.name} | {c.status} | {c.processed:,} | {num(c.seconds)} | {num(c.events_per_s, 0)} "
            f"| {num(c.paced_lag_p50_ms, 0)} | {num(c.paced_lag_p99_ms, 0)} | {c.detail[:120]} |"
        )
    verdict = pipeline.verify_output.splitlines()[-1] if pipeline.verify_output else ""
    lines += ["", f"`python -m tollway.billing verify`: **{pipeline.verify_status}** {verdict}".rstrip()]
    return lines


def idle_lines(idle: Idle | None) -> list[str]:
    if idle is None:
        return ["Not measured."]
    return [
        f"Every Tollway process (gateway, router, billing, analytics, error_monitor: servers, relays, workers, "
        f"mailer) with no traffic for {idle.seconds:.0f} s: {idle.cpu_s:.2f} CPU s = "
        f"**{idle.percent_of_core:.1f}% of one core** in total. Measured once the stack had caught up with the "
        f"traffic before it (a 5 s window under 10% of one core): {idle.drained_s:.0f} s after the last request."
    ]


def goal_table(report: Report) -> list[str]:
    lines = ["| issue target | goal | measured | met |", "|---|---|--:|:-:|"]
    marks = {True: "yes", False: "**no**", None: "-"}
    lines += [f"| {g.name} | {g.threshold} | {g.measured} | {marks[g.met]} |" for g in report.goals]
    return lines


def header(report: Report) -> list[str]:
    m, v, p = report.machine, report.versions, report.plan
    kind = "bench-quick (development numbers)" if report.quick else "full bench"
    load = " / ".join(f"{x:.2f}" for x in m["loadavg_start"])
    took = m["seconds"]
    return [
        f"Run {report.generated_at}, {kind}, {took['total']:.0f} s (HTTP part {took['http']:.0f} s). "
        f"Machine: {m['cores']} cores ({m['cpu']}), load average at start {load}.",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"Plan: modes {', '.join(p['modes'])}; connections {', '.join(map(str, p['connections']))}; "
        f"{p['warmup_s']:.0f} s warm-up then {p['repetitions']} x {p['duration_s']:.0f} s per configuration "
        f"(medians kept); {p['workers']} worker process(es) per server; TTFT probe {p['ttft_requests']} requests.",
    ]


def target_notes(report: Report) -> list[str]:
    lines = []
    for name, info in report.targets.items():
        if info.get("error"):
            lines.append(f"- **{name} failed**: {info['error']}")
        lines += [f"- {name}: {note}" for note in info.get("notes", [])]
    return lines


def summary_markdown(report: Report) -> str:
    """The README's part: the HTTP table and the targets."""
    parts = [*header(report), "", *http_table(report), "", *goal_table(report)]
    return "\n".join(parts) + "\n"


def markdown(report: Report) -> str:
    parts = [
        "# Tollway benchmark",
        "",
        *header(report),
        "",
        "## HTTP: requests/s and latency (wrk)",
        "",
        "Added latency = target p50/p99 - direct-to-fakellm p50/p99 at the same connections; x = requests/s ratio. "
        "CPU = utime+stime of the target's process tree (Tollway: gateway + router; stack: every Tollway process).",
        "",
        *http_table(report),
        "",
        "## Time to first token (sequential aiohttp probe, paced 20-token stream)",
        "",
        *ttft_table(report),
        "",
        "## Event pipeline",
        "",
        *pipeline_lines(report.pipeline),
        "",
        "## Idle stack",
        "",
        *idle_lines(report.idle),
        "",
        "## Issue targets (reported, not asserted)",
        "",
        *goal_table(report),
        "",
        "## Notes",
        "",
        *(target_notes(report) or ["- none"]),
    ]
    return "\n".join(parts) + "\n"


def update_readme(readme: Path, summary: str) -> bool:
    """Replace the text between the bench markers of README.md; False when the markers are missing."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{summary}{README_END}{tail}")
    return True
