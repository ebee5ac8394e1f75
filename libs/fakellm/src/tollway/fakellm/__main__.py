"""Command line: ``python -m tollway.fakellm serve [--host H] [--port P] [--workers N]`` runs granian."""

import argparse
from collections.abc import Sequence

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from tollway.fakellm.settings import server_settings


def _parser() -> argparse.ArgumentParser:
    defaults = server_settings()
    parser = argparse.ArgumentParser(prog="python -m tollway.fakellm", description="Fake OpenAI/Anthropic upstream.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the ASGI app with granian")
    serve.add_argument("--host", default=defaults.host, help="bind address (FAKELLM_HOST)")
    serve.add_argument("--port", type=int, default=defaults.port, help="bind port (FAKELLM_PORT)")
    serve.add_argument("--workers", type=int, default=defaults.workers, help="worker processes (FAKELLM_WORKERS)")
    serve.add_argument(
        "--log-level",
        default=defaults.log_level,
        choices=[level.value for level in LogLevels],
        help="(FAKELLM_LOG_LEVEL)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    server = Granian(
        "tollway.fakellm.asgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_level=LogLevels(args.log_level),
    )
    server.serve()


if __name__ == "__main__":
    main()
