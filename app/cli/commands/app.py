"""`shipdeck app ...` (Kamal::Cli::App)."""

from __future__ import annotations

import argparse
import sys

from app.cli.session import run_operation
from app.engine import deploy as flows
from app.engine.commands import app as operations
from app.engine.options import ExecOptions, LogOptions
from app.errors import UsageError


def boot(args: argparse.Namespace) -> int:
    version = args.version
    return run_operation(args, "app", "boot", lambda run: flows.boot_app(run, version))


def start(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "start", operations.start)


def stop(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "stop", operations.stop)


def details(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "details", operations.details)


def containers(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "containers", operations.containers)


def images(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "images", operations.images)


def version(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "version", operations.version)


def stale_containers(args: argparse.Namespace) -> int:
    stop = bool(args.stop)
    return run_operation(args, "app", "stale_containers", lambda run: flows.stale_containers(run, stop=stop))


def env_option(values: list[str]) -> dict[str, str]:
    """`-e KEY:VALUE` (Kamal's form) or `-e KEY=VALUE`: split at whichever separator comes first, so a
    value may hold either (`-e URL:http://x`, `-e OPTS=a:b`)."""
    env: dict[str, str] = {}
    for item in values:
        cut = min((index for index in (item.find(":"), item.find("=")) if index > 0), default=-1)
        if cut < 0:
            raise UsageError(f"--env expects KEY:VALUE (or KEY=VALUE), got {item!r}")
        env[item[:cut]] = item[cut + 1:]
    return env


def exec_(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    options = ExecOptions(command=" ".join(cmd), interactive=bool(args.interactive), reuse=bool(args.reuse),
                          env=env_option(args.env), detach=bool(args.detach), version=args.version,
                          terminal=sys.stdin.isatty())
    return run_operation(args, "app", "exec", lambda run: operations.exec_(run, options))


def log_options(args: argparse.Namespace) -> LogOptions:
    """Kamal's logs flags; `-T` (`--skip-timestamps`) leaves timestamps out (they are on by default)."""
    return LogOptions(since=args.since, lines=args.lines, grep=args.grep, grep_options=args.grep_options,
                      timestamps=not bool(args.skip_timestamps), follow=bool(args.follow),
                      container_id=getattr(args, "container_id", None))


def logs(args: argparse.Namespace) -> int:
    options = log_options(args)
    return run_operation(args, "app", "logs", lambda run: operations.logs(run, options))


def remove(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "remove", operations.remove)


def maintenance(args: argparse.Namespace) -> int:
    drain, message = args.drain_timeout, args.message
    return run_operation(args, "app", "maintenance", lambda run: operations.maintenance(run, drain, message))


def live(args: argparse.Namespace) -> int:
    return run_operation(args, "app", "live", operations.live)
