"""`shipdeck proxy boot|reboot|start|stop|restart|details|logs|remove`."""

from __future__ import annotations

import argparse

from app.cli.commands.app import log_options
from app.cli.session import run_operation
from app.engine import proxy_ops


def boot(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "boot", proxy_ops.boot)


def reboot(args: argparse.Namespace) -> int:
    rolling = bool(args.rolling)
    return run_operation(args, "proxy", "reboot", lambda run: proxy_ops.reboot(run, rolling=rolling))


def start(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "start", proxy_ops.start)


def stop(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "stop", proxy_ops.stop)


def restart(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "restart", proxy_ops.restart)


def details(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "details", proxy_ops.details)


def logs(args: argparse.Namespace) -> int:
    options = log_options(args)
    return run_operation(args, "proxy", "logs", lambda run: proxy_ops.logs(run, options))


def remove(args: argparse.Namespace) -> int:
    force = bool(args.force)
    return run_operation(args, "proxy", "remove", lambda run: proxy_ops.remove(run, force=force))
