"""`kamal-proxy <command>`: `run` starts the server; every other command talks to it."""

from __future__ import annotations

import sys

from . import flags as cli_flags
from .client import ProxyError, call


def _table(rows: list[dict[str, str]]) -> str:
    columns = ["Service", "Host", "Path", "Target", "State", "TLS"]
    widths = {c: max([len(c), *(len(row[c]) for row in rows)]) for c in columns}
    bold, reset = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    lines = [bold + "  ".join(c.ljust(widths[c]) for c in columns).rstrip() + reset]
    lines += ["  ".join(row[c].ljust(widths[c]) for c in columns).rstrip() for row in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(cli_flags.root_usage())
        return 0
    try:
        command = cli_flags.find_command(argv[0])
        if "-h" in argv[1:] or "--help" in argv[1:]:
            print(cli_flags.usage(command))
            return 0
        values, positional = cli_flags.parse(command, argv[1:])
        if command.name == "run":
            import asyncio

            from .server import serve

            asyncio.run(serve(values))
            return 0
        params: dict[str, object] = {"service": positional[0] if positional else "", "flags": values}
        result = call(command.name, params)
        if command.name == "list":
            print(_table(result or []))
        return 0
    except (cli_flags.UsageError, ProxyError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
