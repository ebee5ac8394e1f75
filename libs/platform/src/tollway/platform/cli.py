"""The ``python -m tollway.<service> <role>`` command line every service exposes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

Role = Callable[[Sequence[str]], None]


def run_cli(service: str, roles: Mapping[str, Role], argv: Sequence[str] | None = None) -> None:
    """Dispatch to one role; the remaining arguments are the role's own."""
    parser = argparse.ArgumentParser(prog=f"python -m tollway.{service}", description=f"Tollway {service}")
    parser.add_argument("role", choices=sorted(roles), help="what this process runs")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    roles[args.role](rest)
