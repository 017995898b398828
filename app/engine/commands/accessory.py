"""`shipdeck accessory boot|reboot|start|stop|restart|details|logs|exec|remove NAME|all`."""

from __future__ import annotations

import argparse
import sys

from app.engine import accessories
from app.engine.runner import Run
from app.engine.session import log_timestamps, puts_by_host, run_command
from app.errors import UsageError


def _simple(args: argparse.Namespace, subcommand: str, action) -> int:
    async def body(run: Run) -> None:
        await action(run, args.name)

    return run_command(args, "accessory", subcommand, body)


def boot(args: argparse.Namespace) -> int:
    return _simple(args, "boot", accessories.boot)


def reboot(args: argparse.Namespace) -> int:
    return _simple(args, "reboot", accessories.reboot)


def start(args: argparse.Namespace) -> int:
    return _simple(args, "start", accessories.start)


def stop(args: argparse.Namespace) -> int:
    return _simple(args, "stop", accessories.stop)


def restart(args: argparse.Namespace) -> int:
    return _simple(args, "restart", accessories.restart)


def details(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        results = await accessories.details(run, args.name)
        for (name, host), lines in results.items():
            puts_by_host(run, host, lines, type=f"Accessory {name}")

    return run_command(args, "accessory", "details", body)


def logs(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        results = await accessories.logs(run, args.name, since=args.since, lines=args.lines, grep=args.grep,
                                         grep_options=args.grep_options, timestamps=log_timestamps(args),
                                         follow=args.follow,
                                         on_line=(lambda line: print(line, flush=True)) if args.follow else None)
        for lines in (results or {}).values():
            for line in lines:
                run.notice(line, level="result")

    return run_command(args, "accessory", "logs", body)


def _leading_flags(args: argparse.Namespace) -> list[str]:
    """Options written after NAME (`exec db -i --reuse CMD`) land in the command; take them back, as Thor does."""
    words = list(args.cmd or [])
    while words and words[0] in ("-i", "--interactive", "--reuse"):
        flag = words.pop(0)
        setattr(args, "reuse" if flag == "--reuse" else "interactive", True)
    return words


def exec_(args: argparse.Namespace) -> int:
    command = " ".join(_leading_flags(args))
    if not command:
        raise UsageError("accessory exec needs a command")
    stdin = None
    if args.interactive and not sys.stdin.isatty():
        stdin = sys.stdin.buffer.read()  # `-i` with piped input: fed to the command (e.g. SQL to psql)

    async def body(run: Run) -> None:
        await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
        if args.interactive and stdin is None:
            from app.engine import server

            accessory = accessories.lookup(run, args.name)
            host = accessory.hosts[0]
            if args.reuse:
                run.notice("Launching interactive command via SSH from existing container...")
                shell = accessories.exec_existing_command(accessory, command, interactive=True)
            else:
                run.notice("Launching interactive command via SSH from new container...")
                from app.engine import registry_ops

                await registry_ops.login_on_host(run, host, accessory.registry or run.config.registry)
                shell = accessories.exec_new_command(run.config, accessory, command, interactive=True)
            await run.pool.close()
            server.exec_interactive(run, host, shell)
            return
        where = "existing" if args.reuse else "new"
        run.notice(f"Launching command from {where} container...")
        outputs = await accessories.execute(run, args.name, command, reuse=args.reuse, stdin=stdin)
        for host, output in outputs.items():
            puts_by_host(run, host, output)

    return run_command(args, "accessory", "exec", body)


def remove(args: argparse.Namespace) -> int:
    async def body(run: Run) -> bool:
        return await accessories.remove(run, args.name)

    return run_command(args, "accessory", "remove", body)
