"""`shipdeck logs`: the merged log stream of app roles, accessories and kamal-proxy across hosts, as plain lines.

Everything comes from one `Fleet.logs()` call (the dashboard's log view reads the same stream). Each line is
prefixed with its source (`host/role`, `host/accessory`, `host/kamal-proxy`) and, unless `-T`, Docker's
timestamp; the engine has already masked every secret value. A gap in a stream and a deploy's switch to a new
container print as marker lines. A host that cannot be read is named on stderr with the reason as soon as that is
known, the other hosts' lines still come, and the command ends with status 1 (3 with `--auto`, as a connection
failure) if such a host never delivered a line. Ctrl-C (or SIGTERM) stops following and closes every connection;
a reader that goes away (`| head`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from app.cli.logs_args import DEFAULT_FOLLOW_TAIL, DEFAULT_TAIL
from app.engine import api
from app.errors import UsageError

INTERRUPTED = 130
COLOURS = (36, 32, 33, 35, 34, 96, 92, 93, 95, 94)  # ANSI foregrounds, one per source in order of appearance


# -- which sources ------------------------------------------------------------------------------------


def _names(values: Sequence[str] | str | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _expand(patterns: list[str], known: Sequence[str], what: str) -> list[str]:
    """Each pattern (a name or a wildcard) as the known names it matches; one that matches none is an error."""
    found: list[str] = []
    for pattern in patterns:
        matched = [name for name in known if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise UsageError(f"no {what} matches {pattern!r} (known: {', '.join(known) or 'none'})")
        found += [name for name in matched if name not in found]
    return found


def select_sources(config: Any, hosts: Sequence[str], *, roles: str | None, host_patterns: str | None,
                   accessories: Sequence[str], proxy: bool) -> tuple[api.LogSource, ...]:
    """The `LogSource`s the flags name: app roles unless only accessories or the proxy are asked for, each
    narrowed to the named hosts."""
    role_names = [role.name for role in config.roles] if config is not None else []
    accessory_names = [accessory.name for accessory in config.accessories] if config is not None else []
    wanted_roles = _expand(_names(roles), role_names, "role")
    wanted_accessories = _names(accessories)
    if "all" in wanted_accessories:
        if not accessory_names:
            raise UsageError("--accessory all: the config has no accessories")
        wanted_accessories = accessory_names
    wanted_accessories = _expand(wanted_accessories, accessory_names, "accessory")
    wanted_hosts: list[str | None] = list(_expand(_names(host_patterns), list(hosts), "host")) or [None]
    sources: list[api.LogSource] = []
    app_roles: list[str | None] = list(wanted_roles)
    if not app_roles and not wanted_accessories and not proxy:
        app_roles = [None]  # every role
    for host in wanted_hosts:
        sources += [api.LogSource.app(role, host=host) for role in app_roles]
        sources += [api.LogSource.accessory_of(name, host=host) for name in wanted_accessories]
        if proxy:
            sources.append(api.LogSource.proxy(host=host))
    return tuple(sources)


# -- printing ----------------------------------------------------------------------------------------


def _time(unix_time: float | None) -> str:
    moment = datetime.fromtimestamp(unix_time, UTC) if unix_time is not None else datetime.now(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}Z"


def _label(event: api.LogEvent) -> str:
    if isinstance(event, api.LogLine):
        return event.label
    return f"{event.host}/{event.role or event.accessory or 'kamal-proxy'}"


def marker_text(event: api.LogGap | api.LogSwitched) -> str:
    if isinstance(event, api.LogGap):
        lost = _time(event.since)
        if event.until is None:
            return f"-- stream of {event.container} lost at {lost} ({event.reason}); not resumed --"
        return (f"-- stream of {event.container} lost {lost} → {_time(event.until)} ({event.reason}), "
                "lines may be missing --")
    was = f" (was {event.old_container})" if event.old_container else ""
    version = f", version {event.version}" if event.version else ""
    return f"-- now following {event.new_container}{was}{version} --"


class LinePrinter:
    """Formats each event as one line: `host/role | 2026-05-01T10:00:00.123456Z text`, the label coloured on a
    terminal. Writes are flushed once the stream has nothing more ready, so a flood costs few system calls."""

    def __init__(self, out: TextIO, *, timestamps: bool = True, colour: bool = False) -> None:
        self.out = out
        self.timestamps = timestamps
        self.colour = colour
        self.colours: dict[str, int] = {}
        self.width = 0
        self.flush_pending = False

    def prefix(self, label: str) -> str:
        self.width = max(self.width, len(label))
        padded = label.ljust(self.width)
        if not self.colour:
            return f"{padded} |"
        code = self.colours.setdefault(label, COLOURS[len(self.colours) % len(COLOURS)])
        return f"\x1b[{code}m{padded}\x1b[0m |"

    def format(self, event: api.LogEvent) -> str:
        if isinstance(event, api.LogLine):
            text, moment = event.text, event.timestamp
        else:
            text, moment = marker_text(event), (event.since if isinstance(event, api.LogGap) else event.at)
        stamp = f" {_time(moment)}" if self.timestamps else ""
        return f"{self.prefix(_label(event))}{stamp} {text}\n"

    def write(self, event: api.LogEvent) -> None:
        self.out.write(self.format(event))
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.flush_pending = False
        with contextlib.suppress(BrokenPipeError):  # the next write raises it again, where the stream stops
            self.out.flush()


# -- running -----------------------------------------------------------------------------------------


def _colour_wanted(out: TextIO) -> bool:
    return not os.environ.get("NO_COLOR") and hasattr(out, "isatty") and out.isatty()


def tail_for(args: argparse.Namespace) -> int | None:
    if args.tail is not None:
        return args.tail
    if args.follow:
        return DEFAULT_FOLLOW_TAIL
    return None if (args.since or args.grep) else DEFAULT_TAIL


def unreachable_text(event: api.LogUnreachable) -> str:
    return f"shipdeck: {event.host}: cannot read its logs: {event.reason}\n"


def failure_status(args: argparse.Namespace) -> int:
    """The status of a logs command some host never delivered to: a connection failure, as other commands."""
    from app.cli import exit_codes

    auto = getattr(args, "auto", None)
    return exit_codes.CONNECTION if getattr(auto, "enabled", False) else exit_codes.STEP_FAILED


async def print_logs(fleet: Any, args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    """Read the selected stream into `out` until it ends (or, following, until cancelled); close the fleet.
    A host that cannot be read is reported on `err` (stderr) and makes the status non-zero, unless it later
    delivers lines."""
    err = sys.stderr if err is None else err
    printer = LinePrinter(out, timestamps=not args.skip_timestamps, colour=_colour_wanted(out))
    missing: dict[str, str] = {}  # host -> why nothing came from it
    stream = None
    try:
        hosts = args.hosts
        if getattr(args, "primary", False) and not hosts and fleet.config is not None:
            hosts = fleet.config.primary_host
        sources = select_sources(fleet.config, fleet.hosts, roles=args.roles, host_patterns=hosts,
                                 accessories=args.accessory, proxy=args.proxy)
        stream = fleet.logs(sources, since=args.since, tail=tail_for(args), follow=args.follow, grep=args.grep)
        async for event in stream:
            if isinstance(event, api.LogUnreachable):
                printer.flush()
                missing[event.host] = event.reason
                err.write(unreachable_text(event))
                err.flush()
                continue
            if missing and event.host in missing:
                del missing[event.host]  # back, and read after all
            printer.write(event)
        printer.flush()
        out.flush()
        if missing:
            err.write(f"shipdeck: logs incomplete: nothing could be read from {', '.join(missing)}\n")
            return failure_status(args)
    finally:
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.aclose()
        await fleet.close()
    return 0


async def _run(fleet: Any, args: argparse.Namespace, out: TextIO) -> int:
    """`print_logs` with SIGINT and SIGTERM stopping it cleanly (exit 130) and a closed reader ending it (0)."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(print_logs(fleet, args, out))
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, interrupt)
            installed.append(signum)
    try:
        return await task
    except asyncio.CancelledError:
        if interrupted:
            return INTERRUPTED
        raise
    except BrokenPipeError:
        if out is sys.stdout:
            _silence_stdout()
        return 0
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _silence_stdout() -> None:
    """After the reader of stdout went away, point it at /dev/null so the interpreter's last flush is quiet."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def logs(args: argparse.Namespace) -> int:
    from app.cli.session import open_fleet

    fleet = open_fleet(args)
    code = asyncio.run(_run(fleet, args, sys.stdout))
    if code == 0:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
    return code
