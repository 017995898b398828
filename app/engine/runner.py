"""Executing steps: events around every step, hosts in parallel, every failure collected.

A `Run` is what each command receives: the config, the secrets, the hosts (one connection each),
the event log and the confirmer. `run.step(...)` wraps one unit of work on one host (or locally)
in StepStarted/StepFinished events; `run.on_hosts(...)` fans work out over hosts like Kamal does
(in parallel, all failures reported together as `Exceptions on N hosts`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.engine.confirm import Confirmer, FlagConfirmer
from app.engine.events import (
    EventLog,
    Notice,
    Output,
    StepFinished,
    StepStarted,
    StepStatus,
)
from app.errors import ShipdeckError

T = TypeVar("T")


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
    """What the operator asked for on the command line (Kamal's global options and friends)."""

    hosts: tuple[str, ...] = ()  # -h patterns
    roles: tuple[str, ...] = ()  # -r patterns
    primary: bool = False
    version: str | None = None
    skip_hooks: bool = False
    skip_push: bool = False
    verbose: bool = False
    quiet: bool = False
    lock_wait: bool = False
    lock_wait_timeout: float = 900.0
    lock_wait_interval: float = 15.0
    extra: dict[str, Any] = field(default_factory=dict)


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
        self.subcommand = subcommand  # e.g. "boot" (KAMAL_SUBCOMMAND)
        # A lock held by a parent process (a hook running shipdeck or kamal) counts as ours.
        self.holding_lock = os.environ.get("KAMAL_LOCK") == "true"
        self.started = time.monotonic()

    def target_hosts(self) -> list[str]:
        return list(self.targets.hosts) if self.targets is not None else list(self.config.all_hosts)

    def host(self, name: str):
        """The RemoteHost for `name` (one SSH connection per host for the whole run)."""
        return self.pool[name]

    # -- events ---------------------------------------------------------------------------------

    def output(self, step: str, line: str, host: str | None = None, stream: str = "stdout") -> None:
        self.events.emit(Output(step=step, line=line, host=host, stream=stream))

    def notice(self, message: str, level: str = "info", host: str | None = None) -> None:
        self.events.emit(Notice(message=message, level=level, host=host))

    @asynccontextmanager
    async def step(
        self, step: str, title: str, *, host: str | None = None, role: str | None = None
    ) -> AsyncIterator[None]:
        """One unit of work: emits start/finish with its duration; a failure becomes StepFailed."""
        self.events.emit(StepStarted(step=step, title=title, host=host, role=role))
        began = time.monotonic()
        try:
            yield
        except asyncio.CancelledError:
            self.events.emit(StepFinished(step=step, status=StepStatus.CANCELLED, host=host, role=role,
                                          duration=time.monotonic() - began, error="cancelled"))
            raise
        except StepFailed as error:
            self.events.emit(StepFinished(step=step, status=StepStatus.FAILED, host=host, role=role,
                                          duration=time.monotonic() - began, error=str(error)))
            raise
        except Exception as error:
            self.events.emit(StepFinished(step=step, status=StepStatus.FAILED, host=host, role=role,
                                          duration=time.monotonic() - began, error=str(error)))
            raise StepFailed(step, host, error) from error
        self.events.emit(StepFinished(step=step, status=StepStatus.OK, host=host, role=role,
                                      duration=time.monotonic() - began))

    def skipped(self, step: str, title: str, reason: str, *, host: str | None = None) -> None:
        self.events.emit(StepStarted(step=step, title=title, host=host))
        self.events.emit(StepFinished(step=step, status=StepStatus.SKIPPED, host=host, duration=0.0,
                                      error=reason))

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
