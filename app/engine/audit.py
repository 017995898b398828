"""The audit log each host keeps (`.kamal/<service>[-<dest>]-audit.log`), written as Kamal writes it."""

from __future__ import annotations

from app import contract
from app.config.model import Config
from app.engine.tags import default_tags
from app.remote.host import RemoteHost

_NOT_IN_AUDIT_LINES = ("version", "service_version", "service")


def audit_line(config: Config, message: str, **details: str | None) -> str:
    """`[<time>] [<performer>] [<destination>] [<details>...] <message>` (Kamal::Commands::Auditor)."""
    tags = {**default_tags(config), **{key: value for key, value in details.items() if value is not None}}
    shown = " ".join(f"[{value}]" for key, value in tags.items() if key not in _NOT_IN_AUDIT_LINES)
    return f"{shown} {message}"


async def record(host: RemoteHost, config: Config, message: str, **details: str | None) -> None:
    """Append one line to the host's audit log (creating `.kamal` first, as Kamal does).

    The line is queued (`RemoteHost.append_line_soon`): the step it records goes on at once, and the run
    settles the host's queued lines before it releases the lock, runs a hook or finishes."""
    host.append_line_soon(contract.audit_log_path(config.service, config.destination),
                          audit_line(config, message, **details))
