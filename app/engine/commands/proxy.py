"""`shipdeck proxy boot|reboot|start|stop|restart|details|logs|remove`."""

from __future__ import annotations

import argparse

from app.engine import proxy_ops
from app.engine.runner import Run
from app.engine.session import log_timestamps, puts_by_host, run_command


def boot(args: argparse.Namespace) -> int:
    return run_command(args, "proxy", "boot", proxy_ops.boot)


def reboot(args: argparse.Namespace) -> int:
    async def body(run: Run) -> bool:
        return await proxy_ops.reboot(run, rolling=bool(args.rolling))

    return run_command(args, "proxy", "reboot", body)


def start(args: argparse.Namespace) -> int:
    return run_command(args, "proxy", "start", proxy_ops.start)


def stop(args: argparse.Namespace) -> int:
    return run_command(args, "proxy", "stop", proxy_ops.stop)


def restart(args: argparse.Namespace) -> int:
    return run_command(args, "proxy", "restart", proxy_ops.restart)


def details(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        for host, lines in (await proxy_ops.details(run)).items():
            puts_by_host(run, host, lines, type="Proxy")

    return run_command(args, "proxy", "details", body)


def logs(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        results = await proxy_ops.logs(run, since=args.since, lines=args.lines, grep=args.grep,
                                       grep_options=args.grep_options, timestamps=log_timestamps(args),
                                       follow=args.follow,
                                       on_line=(lambda line: print(line, flush=True)) if args.follow else None)
        for host, lines in (results or {}).items():
            puts_by_host(run, host, lines, type="Proxy", quiet=False)  # Kamal's proxy logs: the header even with -q

    return run_command(args, "proxy", "logs", body)


def remove(args: argparse.Namespace) -> int:
    async def body(run: Run) -> bool:
        return await proxy_ops.remove(run, force=bool(args.force))

    return run_command(args, "proxy", "remove", body)
