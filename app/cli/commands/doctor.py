"""`shipdeck doctor [--repair REPAIR]`: the Fleet's diagnosis printed finding by finding (what, where,
why, how to fix it, the exact command of each repair), then the chosen repair run as an operation."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

from app.cli.session import auto_mode, open_fleet
from app.diagnose.findings import LOCAL, Finding, Repair, shipdeck_argv
from app.engine.api import DiagnosisReport, RunResult
from app.engine.fleet import Fleet
from app.errors import EXIT_FAILURE, EXIT_OK, ShipdeckError, UsageError

_WIPE = "wipe"


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad input before anything connects: an unknown repair, a wipe without its exact approval."""
    if args.lines is not None and args.lines < 1:
        raise UsageError("--lines must be at least 1")
    if args.no_restore and not args.repair:
        raise UsageError("--no-restore only goes with --repair ACCESSORY-wipe")
    if not args.repair:
        return
    from app.engine.repairs import OPERATION_REPAIRS, parse_repair_id

    if args.repair in OPERATION_REPAIRS:
        if args.no_restore:
            raise UsageError("--no-restore only goes with --repair ACCESSORY-wipe")
        return
    name, kind = parse_repair_id(args.repair)
    if kind == _WIPE:
        wanted = f"accessory.wipe:{name}"
        if wanted not in {value.strip() for value in args.confirm}:
            given = f" (given: {', '.join('--confirm=' + value for value in args.confirm)})" if args.confirm else ""
            raise UsageError(f"--repair {args.repair} deletes every row of {name} after backing it up; approve exactly "
                             f"this with --confirm={wanted}{given}. Nothing was changed.")
    elif args.no_restore:
        raise UsageError("--no-restore only goes with --repair ACCESSORY-wipe")


def repair_command(fleet: Fleet, repair: Repair) -> str:
    """The one command that runs `repair`."""
    config = fleet.config
    if repair.id.endswith(("-password", "-wipe")):
        argv = list(shipdeck_argv(config, "doctor", "--repair", repair.id))
        if repair.confirm:
            argv.append(f"--confirm={repair.confirm}")
        return " ".join(argv)
    local = [step for step in repair.steps if step.where == LOCAL and step.argv[:1] == ("shipdeck",)]
    if local:
        command = local[0].command
        return command + (f" --confirm={repair.confirm}" if repair.confirm else "")
    return " && ".join(step.command for step in repair.steps)


def print_finding(fleet: Fleet, finding: Finding, out: TextIO) -> None:
    where = ", ".join(part for part in (finding.target, f"on {finding.host}" if finding.host else None) if part)
    out.write(f"\n{finding.severity.value.upper()} {finding.code}{f' ({where})' if where else ''}\n")
    out.write(f"  {finding.title}\n")
    out.write(f"  What: {finding.what}\n")
    out.write(f"  Why:  {finding.why}\n")
    out.write(f"  Fix:  {finding.fix}\n")
    if finding.evidence:
        out.write("  Seen:\n")
        for line in finding.evidence:
            out.write(f"    {line}\n")
    for repair in finding.repairs:
        out.write(f"  Repair {repair.id}: {repair.label}{' (deletes data)' if repair.destructive else ''}\n")
        out.write(f"    $ {repair_command(fleet, repair)}\n")
        for step in repair.steps:
            out.write(f"      {step.describe()}\n")
        if repair.consequence:
            out.write(f"    {repair.consequence}\n")


def print_report(fleet: Fleet, report: DiagnosisReport, out: TextIO) -> None:
    out.write("Checked:\n")
    for check in report.checks:
        out.write(f"  - {check}\n")
    for finding in report.findings:
        print_finding(fleet, finding, out)
    attention = len(report.attention)
    if attention:
        out.write(f"\n{attention} finding(s) need attention.\n")
    else:
        notes = len(report.findings)
        out.write("\nHealthy" + (f" ({notes} note(s) above)" if notes else "") + ".\n")
    out.flush()


async def _repair(fleet: Fleet, args: argparse.Namespace) -> RunResult:
    from app.headless.plain import PlainRenderer

    handle = fleet.repair(args.repair, restore=not args.no_restore)
    handle.subscribe(PlainRenderer(verbose=bool(args.verbose), quiet=bool(args.quiet)))
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, handle.cancel, f"interrupted by {signum.name}")
            installed.append(signum)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        return await handle.result()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _main(fleet: Fleet, args: argparse.Namespace, out: TextIO) -> int:
    try:
        fleet.connect()
        report = await fleet.diagnose(tail=args.lines)
        print_report(fleet, report, out)
        if not args.repair:
            return EXIT_OK if report.healthy else EXIT_FAILURE
        out.write(f"\nRepair {args.repair}:\n")
        out.flush()
        result = await _repair(fleet, args)
    finally:
        await fleet.close()
    if result.error is not None:
        if isinstance(result.value, ShipdeckError):
            raise result.value
        raise ShipdeckError(result.error, exit_code=result.exit_code)
    return result.exit_code


def doctor(args: argparse.Namespace) -> int:
    check_arguments(args)
    fleet = open_fleet(args)
    if auto_mode(args):
        sys.stdout.write("shipdeck doctor (headless)\n")
    return asyncio.run(_main(fleet, args, sys.stdout))
