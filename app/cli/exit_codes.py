"""The exit codes of `shipdeck --auto`, from the engine's typed errors (the engine knows no exit codes of CI).

0 done · 1 a step failed · 2 config or usage · 3 connection or authentication (SSH unreachable, auth refused,
unknown or changed host key, registry login refused) · 4 deploy lock held · 5 a confirmation or `--allow-*`
flag is needed (nothing changed) · 130 interrupted.

A failure on several hosts is the most specific of theirs: 3, then 4, then 5, then 2, else 1.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError

DONE = EXIT_OK
STEP_FAILED = EXIT_FAILURE
USAGE = EXIT_USAGE
CONNECTION = 3
LOCK_HELD = 4
DECISION_NEEDED = 5
INTERRUPTED = 130

_PRECEDENCE = (CONNECTION, LOCK_HELD, DECISION_NEEDED, USAGE)


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: a failed step's cause, each host's failure, an explicit `raise ... from`."""
    from app.engine.runner import HostsFailed, StepFailed

    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, StepFailed):
            pending.append(current.cause)
        if isinstance(current, HostsFailed):
            pending.extend(current.failures.values())
        if current.__cause__ is not None:
            pending.append(current.__cause__)


def _code_of(error: BaseException) -> int | None:
    from app.engine.auto import FlagNeeded
    from app.engine.confirm import ConfirmationRefused
    from app.engine.lock import LockError
    from app.engine.registry_ops import RegistryError
    from app.remote.errors import AuthenticationFailed, HostKeyChanged, HostKeyUnknown, HostUnreachable

    if isinstance(error, (HostUnreachable, HostKeyUnknown, HostKeyChanged, AuthenticationFailed, RegistryError)):
        return CONNECTION
    if isinstance(error, LockError):
        return LOCK_HELD
    if isinstance(error, (ConfirmationRefused, FlagNeeded)):
        return DECISION_NEEDED
    if isinstance(error, UsageError):
        return USAGE
    if isinstance(error, KeyboardInterrupt) or getattr(error, "exit_code", None) == INTERRUPTED:
        return INTERRUPTED
    return None


def exit_code_for(error: BaseException) -> int:
    """The `--auto` exit code for an error an operation ended with."""
    found = {code for cause in causes(error) if (code := _code_of(cause)) is not None}
    if INTERRUPTED in found:
        return INTERRUPTED
    for code in _PRECEDENCE:
        if code in found:
            return code
    return STEP_FAILED
