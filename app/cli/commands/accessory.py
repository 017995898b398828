"""`shipdeck accessory boot|reboot|start|stop|restart|details|logs|exec|remove NAME|all`."""

from __future__ import annotations

import argparse
import sys

from app.cli.commands.app import log_options
from app.cli.session import run_operation
from app.engine import accessories
from app.engine.options import ExecOptions
from app.errors import UsageError


def _named(args: argparse.Namespace, subcommand: str, action) -> int:
    name = args.name
    return run_operation(args, "accessory", subcommand, lambda run: action(run, name))


def boot(args: argparse.Namespace) -> int:
    return _named(args, "boot", accessories.boot)


def reboot(args: argparse.Namespace) -> int:
    return _named(args, "reboot", accessories.reboot)


def start(args: argparse.Namespace) -> int:
    return _named(args, "start", accessories.start)


def stop(args: argparse.Namespace) -> int:
    return _named(args, "stop", accessories.stop)


def restart(args: argparse.Namespace) -> int:
    return _named(args, "restart", accessories.restart)


def details(args: argparse.Namespace) -> int:
    return _named(args, "details", accessories.details)


def remove(args: argparse.Namespace) -> int:
    return _named(args, "remove", accessories.remove)


def logs(args: argparse.Namespace) -> int:
    options = log_options(args)
    return _named(args, "logs", lambda run, name: accessories.logs(run, name, options))


def _leading_flags(args: argparse.Namespace) -> list[str]:
    """Options written after NAME (`exec db -i --reuse CMD`) land in the command; take them back, as Thor does."""
    words = list(args.cmd or [])
    while words and words[0] in ("-i", "--interactive", "--reuse"):
        flag = words.pop(0)
        setattr(args, "reuse" if flag == "--reuse" else "interactive", True)
    return words


def exec_(args: argparse.Namespace) -> int:
    command = " ".join(_leading_flags(args))
    stdin = None
    if args.interactive and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()  # `-i` with piped input: fed to the command (e.g. SQL to psql)
    options = ExecOptions(command=command, interactive=bool(args.interactive), reuse=bool(args.reuse), stdin=stdin)
    return _named(args, "exec", lambda run, name: accessories.exec_(run, name, options))


def upgrade(args: argparse.Namespace) -> int:
    from app.cli.commands.main import KAMAL_1_MIGRATION

    raise UsageError(KAMAL_1_MIGRATION.format(command="accessory upgrade"))
