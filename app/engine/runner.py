"""Executing steps: events around every step, hosts in parallel, every failure collected.

A `Run` is what each command receives: the config, the secrets, the hosts (one connection each),
the event log and the confirmer. `run.step(...)` wraps one unit of work on one host (or locally)
in StepStarted/StepFinished events; `run.on_hosts(...)` fans work out over hosts like Kamal does
(in parallel, all failures reported together as `Exceptions on N hosts`).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from app.engine.confirm import Confirmer, FlagConfirmer
from app.engine.events import (
    EventLog,
    Notice,
    Output,
    Rows,
    StepFinished,
    StepStarted,
    StepStatus,
)
from app.errors import ShipdeckError

T = TypeVar("T")

# The step instance the current task is inside (tasks started by `on_hosts` inherit a copy, so
# concurrent steps on different hosts never see each other's).
_current_step: contextvars.ContextVar[tuple[str, str, str | None] | None] = \
    contextvars.ContextVar("shipdeck_current_step", default=None)


class StepFailed(ShipdeckError):
    """A step failed on one host (or locally); the message names both."""

    def __init__(self, step: str, host: str | None, cause: BaseException) -> None:
        self.step = step
        self.host = host
        self.cause = cause
        where = f"{host}: " if host else ""
        text = str(cause)
        if host and text.startswith(f"{host}: "):
            text = text[len(host) + 2 :]
        super().__init__(f"{where}{step}: {text}")


class HostsFailed(ShipdeckError):
    """Work failed on one or more hosts (the others finished their part)."""

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = failures
        if len(failures) == 1:
            message = str(next(iter(failures.values())))
        else:
            details = "; ".join(str(error) for error in failures.values())
            message = f"Exceptions on {len(failures)} hosts: {details}"
        super().__init__(message)


@dataclass
class RunOptions:
    """How one operation runs: Kamal's global options (hosts, roles, primary, version, hooks) and friends."""

    hosts: tuple[str, ...] = ()  # -h patterns
    roles: tuple[str, ...] = ()  # -r patterns
    primary: bool = False
    version: str | None = None
    skip_hooks: bool = False
    skip_push: bool = False
    lock_wait: bool = False
    lock_wait_timeout: float = 900.0
    lock_wait_interval: float = 15.0
    no_cache: bool = False


class Run:
    """Everything one command execution needs, shared by its steps."""

    def __init__(
        self,
        *,
        config: Any,
        secrets: Any,
        pool: Any,
        events: EventLog | None = None,
        confirmer: Confirmer | None = None,
        options: RunOptions | None = None,
        targets: Any = None,
        command: str = "",
        subcommand: str | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.pool = pool
        self.events = events or EventLog()
        self.confirmer: Confirmer = confirmer or FlagConfirmer()
        self.options = options or RunOptions()
        self.targets = targets  # app.engine.targets.Targets: hosts/roles after -h/-r/-p
        self.command = command  # Kamal's command name, e.g. "deploy", "app" (KAMAL_COMMAND)
        self.subcommand = subcommand  # e.g. "boot" (hooks never see it: see hooks.hook_environment)
        # A lock held by a parent process (a hook running shipdeck or kamal) counts as ours.
        self.holding_lock = os.environ.get("KAMAL_LOCK") == "true"
        self.started = time.monotonic()
        self._step_numbers = itertools.count(1)
        # Told when this run takes (True) or releases (False) the deploy lock: a Fleet reports it to
        # its watchers at once.
        self.on_lock_change: Callable[[bool], None] | None = None

    async def settle(self) -> None:
        """Wait until the hosts have written the lines queued for them (the audit log: see
        `RemoteHost.append_line_soon`)."""
        settle = getattr(self.pool, "settle", None)  # a unit test's stand-in pool may have none
        if settle is not None:
            await settle()

    def target_hosts(self) -> list[str]:
        return list(self.targets.hosts) if self.targets is not None else list(self.config.all_hosts)

    def host(self, name: str):
        """The RemoteHost for `name` (one SSH connection per host for the whole run)."""
        return self.pool[name]

    # -- events ---------------------------------------------------------------------------------

    def output(self, step: str, line: str, host: str | None = None, stream: str = "stdout") -> None:
        """A line of output; it belongs to the current step instance when that is the same step on
        the same host (so a face can show it under the right cell)."""
        current = _current_step.get()
        step_id, role = "", None
        if current is not None and current[0].startswith(step + "#") and current[2] == host:
            step_id, role = current[0], current[1] or None
        self.events.emit(Output(step=step, line=line, host=host, stream=stream, role=role, step_id=step_id))

    def notice(self, message: str, level: str = "info", host: str | None = None) -> None:
        self.events.emit(Notice(message=message, level=level, host=host))

    def rows(self, kind: str, title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], *,
             host: str | None = None, role: str | None = None) -> None:
        """A structured result (a table); faces lay it out."""
        self.events.emit(Rows(kind=kind, title=title, columns=tuple(columns),
                              rows=tuple(tuple(str(cell) for cell in row) for row in rows), host=host, role=role))

    def lines(self, kind: str, title: str, lines: str | Iterable[str], *, host: str | None = None,
              role: str | None = None) -> None:
        """Text output as a one-column result (`output`), e.g. what a command printed on a host."""
        if isinstance(lines, str):
            lines = lines.rstrip("\n").splitlines()
        self.rows(kind, title, ("output",), ((line,) for line in lines), host=host, role=role)

    def next_step_id(self, step: str) -> str:
        return f"{step}#{next(self._step_numbers)}"

    @asynccontextmanager
    async def step(
        self, step: str, title: str, *, host: str | None = None, role: str | None = None
    ) -> AsyncIterator[None]:
        """One unit of work: emits start/finish with its duration; a failure becomes StepFailed."""
        step_id = self.next_step_id(step)
        self.events.emit(StepStarted(step=step, title=title, host=host, role=role, step_id=step_id))
        token = _current_step.set((step_id, role or "", host))
        began = time.monotonic()

        def finished(status: StepStatus, error: str | None = None) -> StepFinished:
            return StepFinished(step=step, status=status, host=host, role=role, duration=time.monotonic() - began,
                                error=error, step_id=step_id)

        try:
            yield
        except asyncio.CancelledError:
            self.events.emit(finished(StepStatus.CANCELLED, "cancelled"))
            raise
        except StepFailed as error:
            self.events.emit(finished(StepStatus.FAILED, str(error)))
            raise
        except Exception as error:
            self.events.emit(finished(StepStatus.FAILED, str(error)))
            raise StepFailed(step, host, error) from error
        finally:
            _current_step.reset(token)
        self.events.emit(finished(StepStatus.OK))

    def skipped(self, step: str, title: str, reason: str, *, host: str | None = None) -> None:
        step_id = self.next_step_id(step)
        self.events.emit(StepStarted(step=step, title=title, host=host, step_id=step_id))
        self.events.emit(StepFinished(step=step, status=StepStatus.SKIPPED, host=host, duration=0.0,
                                      error=reason, step_id=step_id))

    # -- fan-out --------------------------------------------------------------------------------

    async def on_hosts(
        self, hosts: Iterable[str], work: Callable[[str], Awaitable[T]], *, limit: int | None = None
    ) -> dict[str, T]:
        """Run `work(host)` on every host concurrently; raise HostsFailed after all have finished."""
        hosts = list(dict.fromkeys(hosts))
        semaphore = asyncio.Semaphore(limit) if limit else None

        async def one(host: str) -> T:
            if semaphore is None:
                return await work(host)
            async with semaphore:
                return await work(host)

        outcomes = await asyncio.gather(*(one(host) for host in hosts), return_exceptions=True)
        failures: dict[str, BaseException] = {}
        results: dict[str, T] = {}
        for host, outcome in zip(hosts, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                failures[host] = outcome
            else:
                results[host] = outcome
        if failures:
            raise HostsFailed(failures)
        return results

    @property
    def runtime(self) -> float:
        return time.monotonic() - self.started
