"""Running `.kamal/hooks/<name>` locally with Kamal's `KAMAL_*` environment."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from app.engine.runner import Run
from app.engine.tags import default_tags, tags_env
from app.errors import ShipdeckError

OBSOLETE_HOOKS = ("pre-traefik-reboot", "post-traefik-reboot")


class HookFailed(ShipdeckError):
    """A hook exited non-zero: Kamal aborts the command with the hook's output."""


def hook_path(run: Run, name: str) -> Path:
    return Path(run.config.path(run.config.hooks_path)) / name


def hook_exists(run: Run, name: str) -> bool:
    return hook_path(run, name).is_file()


def hook_environment(run: Run, *, command: str, hosts: str | None = None, secrets: bool = False,
                     **extra: str) -> dict[str, str]:
    """KAMAL_RECORDED_AT … KAMAL_COMMAND, plus every secret for the hooks that get them.

    KAMAL_SUBCOMMAND stays unset, as in Kamal 2.11: it names the subcommand of Kamal's first Thor invocation,
    which from the command line is always the top-level one (`kamal app boot` gives KAMAL_COMMAND=app alone)."""
    details = {
        "hosts": hosts if hosts is not None else ",".join(run.target_hosts()),
        "roles": ",".join(run.options.roles) if run.options.roles else None,
        "lock": "true" if run.holding_lock else "false",
        "command": command,
        **extra,
    }
    tags = {**default_tags(run.config), **{key: value for key, value in details.items() if value is not None}}
    environment = dict(os.environ)
    if secrets:
        environment.update(run.secrets.file_values())  # Kamal hands hooks the secrets files' values
    environment.update(tags_env(tags))
    return environment


async def run_hook(run: Run, name: str, *, secrets: bool = False, hosts: str | None = None, **extra: str) -> None:
    """Run a hook if it exists (and hooks are not skipped); raise HookFailed on a non-zero exit."""
    if run.options.skip_hooks or not hook_exists(run, name):
        return
    environment = hook_environment(run, command=run.command, hosts=hosts,
                                   secrets=secrets, **extra)
    step = f"hook.{name}"
    verbosity = run.config.hooks_output_for(name)
    async with run.step(step, f"Running the {name} hook"):
        await run.settle()  # a hook that reads a host's audit log finds it as Kamal would leave it
        process = await asyncio.create_subprocess_exec(
            "/usr/bin/env", str(hook_path(run, name)), cwd=run.config.project_dir, env=environment,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        lines: list[str] = []
        try:
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                lines.append(line)
                if verbosity != "quiet":
                    run.output(step, line)
            status = await process.wait()
        except asyncio.CancelledError:  # interrupted run: do not leave the hook running behind us
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if status != 0:
            output = "\n".join(lines)
            raise HookFailed(f"Hook `{name}` failed:\n{output}")


async def pre_connect(run: Run) -> None:
    """Kamal's `pre_connect_if_required`: the `pre-connect` hook, with the secrets.

    The session makes this the host pool's first-connect callback, so it runs once per run, right
    before the first SSH connection. Code that must run it before a connection is opened another
    way (the build, which may use a remote builder; `exec -i` over `ssh -t`) awaits
    `run.pool.first_connect()`, which runs it at most once as well.
    """
    await run_hook(run, "pre-connect", secrets=True)
