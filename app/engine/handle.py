"""A started operation as a face holds it: its events, `cancel()` and `result()` (the `Run` protocol of
`app.engine.api`).

The operation runs as a task in the caller's event loop. Its events go to the run's event ring; every
iteration of the handle starts at the oldest kept event and ends after `RunFinished`. Cancelling
cancels the task: `finally` blocks release the deploy lock (shielded) and undo half-done renames,
and the run ends with exit code 130.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.engine.api import RunResult
from app.engine.events import Event, RunFinished, RunStarted
from app.engine.runner import Run as RunContext
from app.errors import EXIT_FAILURE, EXIT_OK, ShipdeckError

Operation = Callable[[RunContext], Awaitable[Any]]
EXIT_CANCELLED = 130

_ids = itertools.count(1)


class RunHandle:
    """Implements `app.engine.api.Run` over a task running `operation(context)`."""

    def __init__(self, context: RunContext, operation: Operation, *,
                 on_done: Callable[[RunHandle], None] | None = None) -> None:
        self.id = f"run-{next(_ids)}"
        self.context = context
        self.command = " ".join(part for part in (context.command, context.subcommand) if part)
        self.exception: BaseException | None = None  # an unexpected (non-shipdeck) error, for debugging
        self._cancel_reason: str | None = None
        self._on_done = on_done
        self._task = asyncio.get_running_loop().create_task(self._main(operation), name=f"shipdeck {self.command}")

    # -- the Run protocol -----------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop at the next await: the lock is released and the run finishes with exit code 130."""
        if not self._task.done():
            self._cancel_reason = reason
            self._task.cancel(reason)

    async def result(self) -> RunResult:
        return await asyncio.shield(self._task)

    @property
    def done(self) -> bool:
        return self._task.done()

    def subscribe(self, sink: Callable[[Event], None]) -> None:
        """Deliver every later event to `sink` synchronously, as it is emitted (call right after the
        run was started to see them all; a sink that raises is removed and reported once)."""
        self.context.events.subscribe(sink)

    # -- internals ------------------------------------------------------------------------------

    async def _events(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        log = self.context.events
        backlog = log.events
        log.subscribe(queue.put_nowait)
        try:
            for event in backlog:
                yield event
                if isinstance(event, RunFinished):
                    return
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, RunFinished):
                    return
        finally:
            log.unsubscribe(queue.put_nowait)

    async def _settle(self) -> str | None:
        """Let the hosts write what is still queued (audit lines) before the run reports its end; the
        error of a write that failed, if any."""
        try:
            await asyncio.shield(self.context.settle())
        except asyncio.CancelledError:
            return None  # cancelled again while settling: the writers carry on by themselves
        except ShipdeckError as error:
            return error.message
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    async def _main(self, operation: Operation) -> RunResult:
        context = self.context
        context.events.emit(RunStarted(command=self.command, hosts=tuple(context.target_hosts()),
                                       version=context.config.version))
        began = time.monotonic()
        try:
            value = await operation(context)
        except asyncio.CancelledError:
            reason = self._cancel_reason or "cancelled"
            result = RunResult(ok=False, exit_code=EXIT_CANCELLED, error=reason, cancelled=True,
                               duration=time.monotonic() - began)
        except ShipdeckError as error:
            result = RunResult(ok=False, exit_code=error.exit_code, error=error.message,
                               duration=time.monotonic() - began, value=error)
        except Exception as error:
            self.exception = error
            result = RunResult(ok=False, exit_code=EXIT_FAILURE, error=f"{type(error).__name__}: {error}",
                               duration=time.monotonic() - began, value=error)
        else:
            if isinstance(value, int) and not isinstance(value, bool):
                exit_code = value
            else:
                exit_code = EXIT_OK if value is not False else EXIT_FAILURE
            result = RunResult(ok=exit_code == EXIT_OK, exit_code=exit_code, duration=time.monotonic() - began,
                               value=value)
        settle_error = await self._settle()
        if settle_error is not None and result.ok:
            result = RunResult(ok=False, exit_code=EXIT_FAILURE, error=settle_error, duration=result.duration)
        # RunFinished.ok: the operation ran to its end (a refused confirmation or a failed `exec` still
        # exits non-zero through RunResult.exit_code, as Kamal does).
        completed = result.error is None
        context.events.emit(RunFinished(ok=completed, duration=result.duration, error=result.error))
        if self._on_done is not None:
            self._on_done(self)
        return result
