"""From command-line arguments to a finished operation, through the engine's Fleet API.

A handler names the operation; `run_operation` opens a Fleet for the project (no connection until a
step needs one; the `pre-connect` hook runs right before the first), starts the operation, prints its
events (progress lines, and results as Kamal prints them), turns SIGINT/SIGTERM into a cancellation
(the run releases the deploy lock), closes every connection and returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.engine.confirm import ApproveAll, Confirmer, FlagConfirmer
from app.engine.fleet import Fleet
from app.engine.handle import RunHandle
from app.engine.options import InteractiveCommand
from app.engine.runner import Run, RunOptions
from app.errors import ShipdeckError

Operation = Callable[[Run], Awaitable[Any]]
STATS_FILE_ENV = "SHIPDECK_STATS_FILE"
DIAGNOSE_TIMEOUT_S = 120.0


def split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


def options_from(args: argparse.Namespace, **overrides: Any) -> RunOptions:
    """Kamal's global options (and the run options) as the engine's typed RunOptions."""
    values: dict[str, Any] = dict(
        hosts=split(getattr(args, "hosts", None)),
        roles=split(getattr(args, "roles", None)),
        primary=bool(getattr(args, "primary", False)),
        version=getattr(args, "version", None),
        skip_hooks=bool(getattr(args, "skip_hooks", False)),
        skip_push=bool(getattr(args, "skip_push", False)),
        no_cache=bool(getattr(args, "no_cache", False)),
        lock_wait=bool(getattr(args, "lock_wait", False)),
        lock_wait_timeout=float(getattr(args, "lock_wait_timeout", None) or 900),
        lock_wait_interval=float(getattr(args, "lock_wait_interval", None) or 15),
    )
    values.update(overrides)
    return RunOptions(**values)


def auto_mode(args: argparse.Namespace) -> bool:
    return bool(getattr(getattr(args, "auto", None), "enabled", False))


def interactive(args: argparse.Namespace) -> bool:
    """A person can answer questions: not `--auto`, no `--confirm` flags, both ends terminals, no CI detected."""
    from app.headless.prompt import interactive_terminal

    return not auto_mode(args) and not (getattr(args, "confirm", None) or ()) and interactive_terminal()


def default_confirmer(args: argparse.Namespace) -> Confirmer:
    """`--confirm` flags answer; Kamal's `-y` answers yes outside `--auto`; else a person at a terminal is
    asked; nobody else ever is."""
    if getattr(args, "confirmed", False) and not auto_mode(args):
        return ApproveAll()
    if interactive(args):
        from app.headless.prompt import TerminalConfirmer

        return TerminalConfirmer()
    return FlagConfirmer(getattr(args, "confirm", None) or ())


def open_fleet(args: argparse.Namespace) -> Fleet:
    """The project's Fleet (config and secrets loaded, nothing connected). Unknown host keys are put to
    a person at the terminal; headless they stay an error naming the fingerprint."""
    fleet = Fleet.from_project(args.config_file, args.destination, args.version, confirmer=default_confirmer(args),
                               confirm_host_keys=interactive(args))
    specs = getattr(getattr(args, "auto", None), "secrets_from_env", None)
    if specs:
        from app.secrets.env_source import EnvSource

        fleet.secrets.env_source = EnvSource.from_specs(specs)
    return fleet


def run_operation(args: argparse.Namespace, command: str, subcommand: str | None, operation: Operation,
                  **options: Any) -> int:
    """One CLI command: open the Fleet, run `operation`, print its events; the exit status."""
    from app.cli.kamal_output import KamalOutput
    from app.headless.plain import PlainRenderer

    verbose, quiet = bool(getattr(args, "verbose", False)), bool(getattr(args, "quiet", False))
    fleet = open_fleet(args)
    if auto_mode(args):
        from app.cli.auto_output import AutoOutput

        output = AutoOutput(args.auto, fleet.config, verbose=verbose)
        try:
            exit_code, value = asyncio.run(_drive(fleet, command, subcommand, operation,
                                                  options_from(args, **options), output.sinks(),
                                                  diagnose_failure=command != "doctor"))
        finally:
            output.write_reports()
        return exit_code
    sinks = (PlainRenderer(verbose=verbose, quiet=quiet), KamalOutput(quiet=quiet))
    exit_code, value = asyncio.run(_drive(fleet, command, subcommand, operation, options_from(args, **options),
                                          sinks))
    if isinstance(value, InteractiveCommand):
        sys.stdout.flush()
        os.execvp(value.argv[0], list(value.argv))  # Kamal's `exec ssh -t ...`: the terminal is the user's now
    return exit_code


def _a_step_failed(error: object) -> bool:
    """A step failed on a host (exit 1), not the config, a connection, the lock or a confirmation: the
    failures a diagnosis can explain."""
    from app.cli.exit_codes import STEP_FAILED, exit_code_for

    return not isinstance(error, BaseException) or exit_code_for(error) == STEP_FAILED


async def _diagnose_failure(fleet: Fleet, sinks: tuple[Callable, ...]) -> None:
    """After a failed `--auto` run: every read-only check, its findings as Diagnosis events (each with the
    command that repairs it), so the job log ends with what went wrong and the way out."""
    from app.engine import doctor

    try:
        report = await asyncio.wait_for(fleet.diagnose(), DIAGNOSE_TIMEOUT_S)
    except Exception:  # the run's own error stays the result; the diagnosis is a bonus
        return
    for finding in report.attention:
        event = doctor.diagnosis_event(finding)
        commands = tuple((repair.label, "shipdeck --auto doctor --repair " + repair.id
                          + (f" --confirm={repair.confirm}" if repair.destructive and repair.confirm else ""))
                         for repair in finding.repairs)
        event = dataclasses.replace(event, fixes=commands or event.fixes)
        for sink in sinks:
            sink(event)


async def _drive(fleet: Fleet, command: str, subcommand: str | None, operation: Operation, options: RunOptions,
                 sinks: tuple[Callable, ...], *, diagnose_failure: bool = False) -> tuple[int, Any]:
    began = time.monotonic()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    handle: RunHandle | None = None
    try:
        handle = fleet.start(command, subcommand, operation, options=options)
        for sink in sinks:
            handle.subscribe(sink)
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, handle.cancel, f"interrupted by {signum.name}")
                installed.append(signum)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        result = await handle.result()
        if diagnose_failure and not result.ok and not result.cancelled and _a_step_failed(result.value):
            await _diagnose_failure(fleet, sinks)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        if handle is not None:
            _write_stats(fleet, handle.command, time.monotonic() - began)
        await fleet.close()
    if handle.exception is not None:
        raise handle.exception  # not a ShipdeckError: the CLI's last line of defence reports it
    if result.error is not None:
        if isinstance(result.value, ShipdeckError) and result.value.exit_code == result.exit_code:
            raise result.value  # its type tells the face more than its message (`--auto`'s exit codes)
        raise ShipdeckError(result.error, exit_code=result.exit_code)
    return result.exit_code, result.value


def _write_stats(fleet: Fleet, command: str, duration: float) -> None:
    """What crossed the network, as JSON in $SHIPDECK_STATS_FILE (benchmarks read it)."""
    path = os.environ.get(STATS_FILE_ENV)
    if not path:
        return
    per_host = {host: dataclasses.asdict(stats) for host, stats in fleet.stats().items()}
    total = fleet.pool.stats
    report = {"command": command, "duration": round(duration, 3), "ssh_connections": total.connections,
              "remote_round_trips": total.round_trips, "commands": total.commands,
              "file_operations": total.file_operations, "docker_requests": total.docker_requests,
              "hosts": per_host}
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
