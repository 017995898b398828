"""From command-line arguments to a finished run: config, secrets, hosts, events, signals.

Every engine command goes through `execute()` (the CLI's through `run_command()`): it loads the
config and secrets, opens no connection until a step needs one (the `pre-connect` hook runs right
before the first), renders events, turns SIGINT/SIGTERM into a cancellation (so `finally` blocks
release the deploy lock), closes every connection and returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from app.config import load_config
from app.config.model import Config
from app.engine.confirm import Confirmer, FlagConfirmer
from app.engine.events import EventLog, EventSink, RunFinished, RunStarted
from app.engine.hooks import pre_connect
from app.engine.runner import Run, RunOptions
from app.engine.targets import Targets
from app.errors import EXIT_FAILURE, EXIT_OK, ShipdeckError
from app.remote.pool import HostPool
from app.remote.ssh import SSHTarget

Body = Callable[[Run], Awaitable[Any]]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


def options_from(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        hosts=_split(getattr(args, "hosts", None)),
        roles=_split(getattr(args, "roles", None)),
        primary=bool(getattr(args, "primary", False)),
        version=getattr(args, "version", None),
        skip_hooks=bool(getattr(args, "skip_hooks", False)),
        skip_push=bool(getattr(args, "skip_push", False)),
        verbose=bool(getattr(args, "verbose", False)),
        quiet=bool(getattr(args, "quiet", False)),
        lock_wait=bool(getattr(args, "lock_wait", False)),
        lock_wait_timeout=float(getattr(args, "lock_wait_timeout", None) or 900),
        lock_wait_interval=float(getattr(args, "lock_wait_interval", None) or 15),
    )


def open_secrets(config: Config) -> Any:
    from app.secrets import Secrets

    return Secrets(config.project_dir, secrets_path=config.secrets_path, destination=config.destination)


def ssh_target(config: Config, host: str, secrets: Any) -> SSHTarget:
    """The connection settings Kamal would use for `host` (ssh section, keys from secrets)."""
    ssh = config.ssh
    key_data: tuple[str, ...] = ()
    if ssh.key_data:
        key_data = tuple(secrets[name] if _looks_like_secret_name(name) else name for name in ssh.key_data)
    if ssh.config is None or ssh.config is True:
        ssh_config: bool | tuple[str, ...] = True
    elif ssh.config is False:
        ssh_config = False
    elif isinstance(ssh.config, str):
        ssh_config = (config.path(ssh.config),)
    else:
        ssh_config = tuple(config.path(path) for path in ssh.config)
    return SSHTarget(
        host=host,
        user=ssh.user,
        port=int(ssh.port),
        keys=tuple(config.path(key) for key in (ssh.keys or ())),
        keys_only=bool(ssh.keys_only),
        key_data=key_data,
        proxy=ssh.proxy,
        proxy_command=ssh.proxy_command,
        config=ssh_config,
    )


def _looks_like_secret_name(value: str) -> bool:
    return "-----BEGIN" not in value


def default_confirmer(args: argparse.Namespace) -> Confirmer:
    """`--confirm` flags answer; without any, a person at a terminal is asked; nobody else ever is."""
    approvals = getattr(args, "confirm", None) or ()
    from app.headless.prompt import TerminalConfirmer, interactive_terminal

    if not approvals and interactive_terminal():
        return TerminalConfirmer()
    return FlagConfirmer(approvals)


def build_run(
    args: argparse.Namespace,
    *,
    command: str,
    subcommand: str | None = None,
    confirmer: Confirmer | None = None,
    sinks: tuple[EventSink, ...] = (),
    require_hosts: bool = True,
) -> Run:
    config = load_config(config_file=args.config_file, destination=args.destination, version=args.version)
    secrets = open_secrets(config)
    options = options_from(args)
    targets = Targets(config, hosts=options.hosts, roles=options.roles, primary=options.primary)
    events = EventLog()
    for sink in sinks:
        events.subscribe(sink)
    pool = HostPool(lambda host: ssh_target(config, host, secrets),
                    max_concurrent_starts=config.sshkit.max_concurrent_starts)
    run = Run(config=config, secrets=secrets, pool=pool, events=events,
              confirmer=confirmer or default_confirmer(args),
              options=options, targets=targets, command=command, subcommand=subcommand)
    pool.on_first_connect = lambda: pre_connect(run)
    return run


async def _run_body(run: Run, body: Body) -> Any:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    cancelled_by: list[str] = []

    def on_signal(name: str) -> None:
        cancelled_by.append(name)
        task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum.name)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    title = " ".join(part for part in (run.command, run.subcommand) if part)
    run.events.emit(RunStarted(command=title, hosts=tuple(run.target_hosts()), version=run.config.version))
    began = time.monotonic()
    try:
        result = await body(run)
    except asyncio.CancelledError:
        reason = f"interrupted by {cancelled_by[0]}" if cancelled_by else "cancelled"
        run.events.emit(RunFinished(ok=False, duration=time.monotonic() - began, error=reason))
        raise ShipdeckError(reason, exit_code=130) from None
    except ShipdeckError as error:
        run.events.emit(RunFinished(ok=False, duration=time.monotonic() - began, error=error.message))
        raise
    except Exception as error:
        run.events.emit(RunFinished(ok=False, duration=time.monotonic() - began, error=str(error)))
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        _write_stats(run, time.monotonic() - began)
        await run.pool.close()
    run.events.emit(RunFinished(ok=True, duration=time.monotonic() - began))
    return result


STATS_FILE_ENV = "SHIPDECK_STATS_FILE"


def _write_stats(run: Run, duration: float) -> None:
    """What crossed the network, as JSON in $SHIPDECK_STATS_FILE (benchmarks read it)."""
    path = os.environ.get(STATS_FILE_ENV)
    if not path:
        return
    per_host = {host: dataclasses.asdict(stats) for host, stats in run.pool.stats_by_host().items()}
    total = run.pool.stats
    report = {"command": " ".join(part for part in (run.command, run.subcommand) if part),
              "duration": round(duration, 3), "ssh_connections": total.connections,
              "remote_round_trips": total.round_trips, "commands": total.commands,
              "file_operations": total.file_operations, "docker_requests": total.docker_requests,
              "hosts": per_host}
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)


def execute(run: Run, body: Body) -> int:
    """Run `body` to completion in a fresh event loop and return the exit status."""
    result = asyncio.run(_run_body(run, body))
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK if result is not False else EXIT_FAILURE


def run_command(args: argparse.Namespace, command: str, subcommand: str | None, body: Body) -> int:
    """A CLI command: build the run (config, secrets, hosts), render its events as plain lines, execute `body`."""
    from app.headless.plain import PlainRenderer

    renderer = PlainRenderer(verbose=bool(getattr(args, "verbose", False)), quiet=bool(getattr(args, "quiet", False)))
    run = build_run(args, command=command, subcommand=subcommand, sinks=(renderer,))
    run.options.extra["args"] = args
    return execute(run, body)


def puts_by_host(run: Run, host: str, output: str | Sequence[str], *, type: str = "App",
                 quiet: bool | None = None) -> None:
    """Kamal's `puts_by_host`: `<type> Host: <host>` (not with -q), the output, then a blank line.

    `quiet` defaults to -q; Kamal's `proxy logs` prints the header even then (it passes no `quiet`).
    """
    lines = output.rstrip("\n").splitlines() if isinstance(output, str) else list(output)
    if not (run.options.quiet if quiet is None else quiet):
        run.notice(f"{type} Host: {host}", level="result")
    for line in [*(lines or [""]), ""]:
        run.notice(line, level="result")


def log_timestamps(args: argparse.Namespace) -> bool:
    """Kamal's `-T` skips timestamps (they are on by default)."""
    return not bool(getattr(args, "timestamps", False))
