"""Recogniser 1: a Postgres data directory initialised with another password than the configured one.

Two stages, so the engine only probes when there is a reason to: `needs_password_probe` looks at the
app's and the accessory's log lines; after the engine has run `postgres.password_probe(...)` and
`postgres.interpret(...)`, `recognise_tainted_volume` turns lines + probe result into a finding with the
in-place reset and the back-up-then-wipe repairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.config.model import Accessory, Config
from app.diagnose import postgres
from app.diagnose.findings import Finding, Repair
from app.diagnose.postgres import DataKind, DataLocation, ProbeOutcome, ProbeResult

AUTH_FAILED = re.compile(r'password authentication failed for user "(?P<user>[^"]*)"|\b28P01\b')
_SERVER_DETAIL = re.compile(r"DETAIL:\s+(?:Connection matched|Role \"[^\"]*\" does not exist|User \"[^\"]*\" "
                            r"(?:has no password|does not have a valid SCRAM secret))")
_SKIPPED_INIT = "PostgreSQL Database directory appears to contain a database; Skipping initialization"
_EVIDENCE_LINES = 4


def auth_failures(lines: Iterable[str]) -> tuple[str, ...]:
    """The lines that report a rejected Postgres password (client side or the server's FATAL/DETAIL)."""
    return tuple(line.rstrip("\n") for line in lines if AUTH_FAILED.search(line) or _SERVER_DETAIL.search(line))


def role_missing(accessory_lines: Iterable[str], user: str) -> bool:
    """The server's own detail for a rejected login: the role does not exist (a client only sees "password
    authentication failed", so that nobody learns which roles exist)."""
    needle = f'Role "{user}" does not exist'
    return any(needle in line for line in accessory_lines)


def needs_password_probe(app_lines: Iterable[str], accessory_lines: Iterable[str]) -> bool:
    """Whether the logs give a reason to run the TCP probe against a Postgres accessory."""
    return bool(auth_failures(app_lines) or auth_failures(accessory_lines))


@dataclass(frozen=True)
class WipePlan:
    """Back up, then wipe: the dump and its local path, the wipe itself, and the restore offered after."""

    dump_path: str
    location: DataLocation
    wipe: Repair
    restore: Repair


def reset_repair(config: Config, accessory: Accessory, host: str, user: str) -> Repair:
    probe = postgres.password_probe(accessory, host, user)
    return Repair(
        id=f"{accessory.name}-password", label=f"Reset the {user} password of {accessory.name} in place",
        steps=(postgres.reset_step(accessory, host, user), probe.step, postgres.app_boot_step(config)),
        consequence="No data is touched. The app containers are rebooted afterwards so that they reconnect.")


def wipe_plan(config: Config, accessory: Accessory, host: str, user: str, dump_path: str,
              home: str | None = None) -> WipePlan:
    location = postgres.data_location(accessory)
    target = location.source or f"{accessory.service_name} (anonymous volume)"
    wipe = Repair(
        id=f"{accessory.name}-wipe", label=f"Back up {accessory.name}, then wipe its data and boot it afresh",
        steps=(postgres.dump_step(accessory, host, user, dump_path),
               *postgres.wipe_steps(accessory, host, location, home),
               postgres.boot_step(config, accessory)),
        destructive=True, confirm=f"accessory.wipe:{accessory.name}", typed=f"{host}:{target}",
        consequence=f"Every row in {location.describe()} on {host} is deleted after the dump to {dump_path}; "
                    "the database is down until the accessory has booted again.")
    restore = Repair(
        id=f"{accessory.name}-restore", label=f"Restore {accessory.name} from {dump_path}",
        steps=(postgres.restore_step(accessory, host, user, dump_path),
               postgres.reset_step(accessory, host, user),
               postgres.password_probe(accessory, host, user).step),
        consequence="The dump carries the old password's verifier for every role; the configured password is "
                    "set again right after the restore.")
    return WipePlan(dump_path, location, wipe, restore)


def _evidence(app_lines: Sequence[str], accessory_lines: Sequence[str]) -> tuple[str, ...]:
    return auth_failures(app_lines)[-_EVIDENCE_LINES:] + auth_failures(accessory_lines)[-_EVIDENCE_LINES:]


def _skipped_initialisation(accessory_lines: Sequence[str]) -> tuple[str, ...]:
    """The entrypoint's own word that it reused an existing data directory (and ignored the password)."""
    return tuple(line for line in accessory_lines if _SKIPPED_INIT in line)[-1:]


def recognise_tainted_volume(config: Config, accessory: Accessory, host: str, *, app_lines: Sequence[str],
                             accessory_lines: Sequence[str], probe: ProbeResult | None, dump_path: str,
                             user: str | None = None, home: str | None = None) -> Finding | None:
    """A finding when the logs show rejected logins and the probe with the configured password fails too.

    With the probe accepting the configured password, the data directory is fine and the app must be
    using another password (`postgres.app_password_differs`). Without log evidence, or when the probe
    could not reach the database, there is nothing to say.
    """
    if not postgres.is_postgres(accessory) or probe is None:
        return None
    evidence = _evidence(app_lines, accessory_lines)
    if not evidence:
        return None
    user = user or postgres.postgres_user(accessory)
    location = postgres.data_location(accessory)
    name = accessory.name
    if probe.outcome is ProbeOutcome.ACCEPTED:
        return Finding(
            code="postgres.app_password_differs", title=f"The app logs in to {name} with another password",
            what=f"The app's connections to {name} on {host} are rejected, yet {name} accepts the configured "
                 f"POSTGRES_PASSWORD for {user} over TCP.",
            why="The data directory's password matches the accessory's secret; the app takes its password "
                "from somewhere else (another secret, or a DATABASE_URL written by hand).",
            fix=f"Give the app the same secret as {name}'s POSTGRES_PASSWORD (e.g. build DATABASE_URL from it), "
                "then reboot the app.",
            host=host, target=name, evidence=evidence)
    if probe.outcome is ProbeOutcome.NO_ROLE or (
            probe.outcome is ProbeOutcome.REJECTED and role_missing(accessory_lines, user)):
        return Finding(
            code="postgres.user_changed", title=f"{name} has no role {user}",
            what=f"Logging in to {name} on {host} as {user} fails: the role does not exist.",
            why=f"POSTGRES_USER was changed after {location.describe()} was initialised; the official image "
                "creates the user only on the first start with an empty data directory.",
            fix=f"Set POSTGRES_USER back to the user the data directory was created with, or create {user} "
                f"inside the container over the local socket (docker exec -i {accessory.service_name} psql ...).",
            host=host, target=name, evidence=evidence)
    if probe.outcome is not ProbeOutcome.REJECTED:
        return None
    plan = wipe_plan(config, accessory, host, user, dump_path, home)
    kept = ("Its data survives every reboot" if location.kind is not DataKind.ANONYMOUS
            else "The container has been running since then")
    return Finding(
        code="postgres.tainted_volume",
        title=f"{name}'s data directory was initialised with another password",
        what=f"The app cannot log in to {name} on {host} (password authentication failed for user \"{user}\"), "
             f"and logging in over TCP with the configured POSTGRES_PASSWORD fails too. The data is in "
             f"{location.describe()}.",
        why="The official postgres image applies POSTGRES_PASSWORD only when it initialises an empty data "
            f"directory. {kept}, so the password it was first created with still applies and the current secret "
            "is ignored.",
        fix=f"Reset the password in place (repair {name}-password: no data is touched). Only if the data is "
            f"not wanted: back up, then wipe (repair {name}-wipe, confirmed with {plan.wipe.confirm}). Do not "
            f"`rm -rf` the directory: that loses every row.",
        host=host, target=name, repairs=(reset_repair(config, accessory, host, user), plan.wipe),
        evidence=_skipped_initialisation(accessory_lines) + evidence)

