"""Recogniser 7: a deploy lock left behind (a crash, SIGKILL, a cancelled job before shipdeck handled it).

The lock is `.kamal/lock-<service>[-<destination>]/details` on the primary host; its decoded text is
`Locked by: <who> at <UTC ISO 8601>`, `Version: ...`, `Message: ...`. A lock younger than `stale_after`
may belong to a deploy that is still running and is not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app import contract
from app.config.model import Config
from app.diagnose.findings import Finding, Repair, Severity, Step, shipdeck_argv

AUTOMATIC_MESSAGE = "Automatic deploy lock"
STALE_AFTER = timedelta(minutes=30)
_LOCKED_BY = re.compile(r"^Locked by: (?P<holder>.*) at (?P<at>\S+)\s*$", re.MULTILINE)
_FIELD = re.compile(r"^(?P<name>Version|Message): ?(?P<value>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class LockDetails:
    holder: str | None
    locked_at: datetime | None
    version: str | None
    message: str | None

    @property
    def automatic(self) -> bool:
        return self.message == AUTOMATIC_MESSAGE


def parse_details(text: str) -> LockDetails:
    locked = _LOCKED_BY.search(text)
    at = None
    if locked:
        try:
            at = datetime.fromisoformat(locked["at"])
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            at = None
    fields = {found["name"]: found["value"] for found in _FIELD.finditer(text)}
    return LockDetails(locked["holder"] if locked else None, at, fields.get("Version"), fields.get("Message"))


def describe_age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def release_repair(config: Config, host: str) -> Repair:
    """Kamal's release (`rm .../details && rm -r ...`), confirmed: the lock might still be someone's."""
    directory = contract.lock_dir(config.service, config.destination)
    details = contract.lock_details_path(config.service, config.destination)
    return Repair(
        id="lock-release", label="Release the deploy lock",
        steps=(Step(host, ("rm", details), purpose="remove the lock's details"),
               Step(host, ("rm", "-r", directory), purpose="remove the lock")),
        confirm=f"lock.release:{contract.service_and_destination(config.service, config.destination)}",
        consequence="If a deploy is in fact still running, a second one could then start beside it.")


def recognise_stale_lock(details_text: str | None, *, config: Config, host: str, now: datetime,
                         stale_after: timedelta = STALE_AFTER) -> Finding | None:
    """`details_text`: the decoded lock details (None when there is no lock); `host`: the lock's host."""
    if details_text is None:
        return None
    details = parse_details(details_text)
    age = now - details.locked_at if details.locked_at else None
    if age is not None and age < stale_after:
        return None
    holder = details.holder or "someone (no holder recorded)"
    age_text = f"{describe_age(age)} ago" if age is not None else "at an unknown time"
    manual = not details.automatic and details.message is not None
    return Finding(
        code="lock.stale", title=f"A deploy lock from {age_text} is still in place",
        what=f"{holder} took the deploy lock on {host} {age_text}"
             + (f" for version {details.version}" if details.version else "")
             + (f", with the message {details.message!r}" if details.message else "") + ". Every deploy fails "
             "with \"Deploy lock found\" until it is released.",
        why=("It was taken by hand (the message is not the automatic one), so someone may still want it. "
             if manual else "A deploy that crashed or was killed does not release its lock. ")
            + "Locks are never released by age alone.",
        fix=f"Check that no deploy is running{' and ask ' + holder if manual else ''}, then release it: "
            f"{' '.join(shipdeck_argv(config, 'lock', 'release'))}.",
        host=host, target=contract.lock_dir(config.service, config.destination),
        severity=Severity.WARNING, repairs=(release_repair(config, host),),
        evidence=tuple(line for line in details_text.splitlines() if line.strip()))
