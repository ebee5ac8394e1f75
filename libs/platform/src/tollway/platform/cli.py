"""The ``python -m tollway.<service> <role>`` command line every service exposes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence

from tollway.platform.settings import SettingsError

Role = Callable[[Sequence[str]], None]


def run_cli(service: str, roles: Mapping[str, Role], argv: Sequence[str] | None = None) -> None:
    """Dispatch to one role; the remaining arguments are the role's own."""
    parser = argparse.ArgumentParser(prog=f"python -m tollway.{service}", description=f"Tollway {service}")
    parser.add_argument("role", choices=sorted(roles), help="what this process runs")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        roles[args.role](rest)
    except SettingsError as exc:
        # A configuration mistake is the operator's to fix: one line naming the variable, not a traceback.
        sys.stderr.write(f"python -m tollway.{service} {args.role}: {exc}\n")
        raise SystemExit(2) from None
