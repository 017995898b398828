"""What a recogniser returns: a `Finding` (what happened, why, how to fix it) with `Repair`s.

A repair is a description, not an action: each `Step` says exactly what runs where, so that the
dashboard and the headless mode can show it before anything happens, and the engine can run it.
Nothing here ever holds a secret value: a step names what goes on stdin (e.g. "the SCRAM verifier,
computed locally") and the engine builds that payload only when it runs the step. Every text field is
also passed through the secrets mask when the finding is created, like the engine's events.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING

from app.secrets.masking import mask

if TYPE_CHECKING:
    from app.config.model import Config

LOCAL = "local"  # `Step.where` for the operator's machine


class Severity(Enum):
    ERROR = "error"  # something is broken now (a failed deploy, an app that cannot log in)
    WARNING = "warning"  # something will break or has probably been changed without anyone noticing
    INFO = "info"  # worth knowing; nothing is broken


@dataclass(frozen=True)
class Step:
    """One command on one machine: `argv` runs on `where` (a host, or `LOCAL`)."""

    where: str
    argv: tuple[str, ...]
    stdin: str | None = None  # what is fed on stdin, described (never the secret itself)
    stdout: str | None = None  # where stdout goes when it is kept (e.g. a local dump file)
    purpose: str = ""

    @property
    def command(self) -> str:
        """The exact command line, as shown to the operator."""
        return shlex.join(self.argv)

    def describe(self) -> str:
        line = f"{self.where}: {self.command}"
        if self.stdin:
            line += f"  < {self.stdin}"
        if self.stdout:
            line += f"  > {self.stdout}"
        return line


@dataclass(frozen=True)
class Repair:
    """A way out that the engine can run, with what it does where and how it must be confirmed.

    `confirm` is the headless approval (`--confirm=<confirm>`, e.g. `accessory.wipe:db`); a destructive
    repair also names the `typed` text (e.g. `host1:app-db/data`) that the dashboard asks to be typed.
    """

    id: str  # stable: "db-password", "db-wipe", "lock-release"
    label: str
    steps: tuple[Step, ...]
    destructive: bool = False
    confirm: str | None = None
    typed: str | None = None
    consequence: str = ""

    def __post_init__(self) -> None:
        if self.destructive and not (self.confirm and self.typed):
            raise ValueError(f"destructive repair {self.id} needs a confirm token and a typed target")

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.where for step in self.steps if step.where != LOCAL))


@dataclass(frozen=True)
class Finding:
    """A recognised failure or hazard. `code` is stable (`postgres.tainted_volume`); `target` names the
    thing affected (an accessory, a secret, a config key)."""

    code: str
    title: str
    what: str  # what happened (or would happen)
    why: str
    fix: str  # how to fix it, in words; `repairs` are the parts shipdeck can run
    host: str | None = None
    target: str | None = None
    severity: Severity = Severity.ERROR
    repairs: tuple[Repair, ...] = ()
    evidence: tuple[str, ...] = field(default=())  # the log lines or error text it was recognised from

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str):
                object.__setattr__(self, item.name, mask(value))
        object.__setattr__(self, "evidence", tuple(mask(line) for line in self.evidence))

    def repair(self, repair_id: str) -> Repair | None:
        return next((repair for repair in self.repairs if repair.id == repair_id), None)


def shipdeck_argv(config: Config, *args: str) -> tuple[str, ...]:
    """A shipdeck command for this project, with its config file and destination as given."""
    argv = ["shipdeck", *args]
    if config.config_file != "config/deploy.yml":
        argv += ["-c", config.config_file]
    if config.destination:
        argv += ["-d", config.destination]
    return tuple(argv)
