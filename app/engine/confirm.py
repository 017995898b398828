"""Confirmations for destructive or outage-causing steps.

The engine never decides on its own to cause an outage or delete data: it describes exactly what
will run where (`ConfirmationRequest`) and asks a `Confirmer`. The dashboard answers with a modal,
the interactive CLI with a prompt, headless mode only from explicit flags that name the target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from app.errors import UsageError


@dataclass(frozen=True)
class Effect:
    """One exact thing that will happen on one host (a command, a file or directory removed...)."""

    host: str
    description: str


@dataclass(frozen=True)
class ConfirmationRequest:
    action: str  # stable id: "proxy.reboot", "accessory.remove", "accessory.wipe_data"
    title: str  # "Reboot kamal-proxy on 2 hosts"
    consequence: str  # "Each host stops serving requests for a few seconds."
    effects: tuple[Effect, ...]
    target: str  # the resource the operator names to confirm: "db", "kamal-proxy"
    destroys_data: bool = False  # data-destroying actions need the target typed, not just "y"
    typed: str | None = None  # what a person types to confirm, when not the target (e.g. `host:app-db/data`)

    @property
    def typed_target(self) -> str:
        """What a person must type to go ahead with a data-destroying action."""
        return self.typed or self.target

    @property
    def flag(self) -> str:
        """The command-line flag that answers this request in headless mode."""
        return f"--confirm={self.action}:{self.target}"

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(effect.host for effect in self.effects))


class ConfirmationRefused(UsageError):
    """Nothing ran: the step needed a confirmation that was not given."""

    def __init__(self, request: ConfirmationRequest, reason: str) -> None:
        self.request = request
        super().__init__(f"{request.title}: {reason}")


class Confirmer(Protocol):
    async def confirm(self, request: ConfirmationRequest) -> bool:
        """True to go ahead; False to cancel this action (the caller stops without changes)."""
        ...


class FlagConfirmer:
    """Headless answers: only what the operator approved with `--confirm=ACTION:TARGET` flags.

    Never prompts. A request without its flag is refused with an error naming the flag, so a CI job
    fails fast and says how to proceed instead of hanging on a prompt.
    """

    def __init__(self, approvals: Iterable[str] = ()) -> None:
        self.approvals = {approval.strip() for approval in approvals}

    async def confirm(self, request: ConfirmationRequest) -> bool:
        wanted = f"{request.action}:{request.target}"
        if wanted in self.approvals:
            return True
        hosts = ", ".join(request.hosts) or "no hosts"
        raise ConfirmationRefused(
            request,
            f"needs explicit approval in headless mode ({request.consequence} Hosts: {hosts}). "
            f"Re-run with {request.flag} to approve exactly this.",
        )


class ApproveAll:
    """Kamal's `-y` (`--confirmed`): the operator answered yes to this command's questions in advance.
    Only the CLI outside `--auto` uses it; `--auto` wants each action named with `--confirm`."""

    async def confirm(self, request: ConfirmationRequest) -> bool:
        return True


def describe(request: ConfirmationRequest) -> str:
    """Plain-text rendering used by the CLI prompt and the headless log."""
    lines = [request.title, request.consequence, ""]
    for effect in request.effects:
        lines.append(f"  {effect.host}: {effect.description}")
    return "\n".join(lines)
