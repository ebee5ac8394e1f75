"""Process trees and their CPU time (utime + stime) read from ``/proc/<pid>/stat``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields after ``comm`` (which may hold spaces); ``None`` once the process is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def parents() -> dict[int, int]:
    """Every live process mapped to its parent."""
    table: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                table[int(entry.name)] = int(fields[1])
    return table


def tree(roots: Iterable[int]) -> set[int]:
    """The roots and all their live descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    pending = [pid for pid in roots if (PROC / str(pid)).exists()]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, ()))
    return found


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def matching(roots: Iterable[int], needle: str) -> list[int]:
    """Processes under ``roots`` whose command line contains ``needle`` (e.g. ``tollway.gateway serve``)."""
    return sorted(pid for pid in tree(roots) if needle in cmdline(pid))


def identities(pids: Iterable[int]) -> dict[int, int]:
    """Each live (non-zombie) process mapped to its start time: a PID alone may be reused by another process."""
    found = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None and fields[0] != "Z":
            found[pid] = int(fields[19])  # starttime (stat field 22)
    return found


def still_running(known: dict[int, int]) -> list[int]:
    """The processes of ``known`` that still run (same PID and same start time)."""
    now = identities(known)
    return [pid for pid, started in known.items() if now.get(pid) == started]


def cpu_seconds(roots: Iterable[int]) -> float:
    """User + system CPU seconds spent so far by the live processes of the trees under ``roots``."""
    ticks = 0
    for pid in tree(roots):
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14 and 15)
    return ticks / TICKS_PER_S
