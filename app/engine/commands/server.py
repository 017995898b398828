"""`server exec` as an engine operation (`server bootstrap` is `app.engine.server.bootstrap`)."""

from __future__ import annotations

from app.engine import server
from app.engine.options import InteractiveCommand
from app.engine.runner import Run
from app.errors import UsageError


async def exec_(run: Run, command: str, *, interactive: bool = False) -> InteractiveCommand | None:
    """The command on every targeted host, output per host as `Rows` (title "App"); interactive: the
    `ssh -t` command for the primary host, for the face to run."""
    if not command:
        raise UsageError("server exec needs a command")
    await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
    if interactive:
        host = run.targets.primary_host
        run.notice(f"Running '{command}' on {host} interactively...")
        return InteractiveCommand(host, tuple(server.ssh_argv(run, host, command)))
    outputs = await server.execute(run, command)
    for host, output in outputs.items():
        run.lines("server.exec", "App", output, host=host)
    return None
