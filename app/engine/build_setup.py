"""`build create|remove|details|dev`: the local build setup, as Kamal makes it.

shipdeck builds through the Docker Engine API and needs no buildx builder for the `docker` driver;
these commands exist so that a project that also builds with Kamal (or with shipdeck's buildx path:
several arches, a cache, a remote builder) can create, inspect and remove the same builder by name.
"""

from __future__ import annotations

import asyncio
import shutil

from app.engine import build
from app.engine.runner import Run

STEP = "build.setup"


def _remote_context(run: Run) -> str:
    return f"{build.builder_name(run)}-context"


def _driver_options(run: Run) -> list[str]:
    return ["--driver-opt", "network=host"] if run.config.registry.local else []


def create_commands(run: Run) -> list[list[str]]:
    """Kamal's `builder.create`: nothing for the `docker` driver; a buildx builder (on a Docker context
    for a remote builder) otherwise."""
    builder, name = run.config.builder, build.builder_name(run)
    if builder.remote:
        return [["docker", "context", "create", _remote_context(run), "--description", f"{name} host",
                 "--docker", f"host={builder.remote}"],
                ["docker", "buildx", "create", "--name", name, *_driver_options(run), _remote_context(run)]]
    if builder.driver == "docker":
        return []
    if builder.driver.startswith("cloud"):
        return [["docker", "buildx", "create", "--driver", "cloud", builder.driver.removeprefix("cloud").strip()]]
    return [["docker", "buildx", "create", "--name", name, f"--driver={builder.driver}", *_driver_options(run)]]


def remove_commands(run: Run) -> list[list[str]]:
    builder, name = run.config.builder, build.builder_name(run)
    if builder.remote:
        return [["docker", "context", "rm", _remote_context(run)], ["docker", "buildx", "rm", name]]
    if builder.driver == "docker":
        return []
    return [["docker", "buildx", "rm", name]]


async def _local(run: Run, argv: list[str], *, check: bool = True) -> str:
    """Run a local docker command; its output as text. A missing docker CLI is a clear error."""
    if shutil.which(argv[0]) is None:
        raise build.BuildError(f"`{argv[0]}` is not installed on this machine; `{' '.join(argv[:3])}` needs it")
    process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    text = output.decode(errors="replace").rstrip("\n")
    if check and process.returncode != 0:
        raise build.BuildError(f"{' '.join(argv)} failed: {text}")
    return text


async def _buildx_installed() -> bool:
    if shutil.which("docker") is None:
        return False
    process = await asyncio.create_subprocess_exec("docker", "buildx", "version", stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    return await process.wait() == 0


async def _run_all(run: Run, commands: list[list[str]], title: str) -> None:
    run.notice(f"Using builder: {build.builder_name(run)}")
    if not commands:
        run.notice(f"Nothing to {title}: the `{run.config.builder.driver}` driver builds on the local engine "
                   "without a buildx builder")
        return
    if any(argv[:2] == ["docker", "buildx"] for argv in commands) and not await _buildx_installed():
        raise build.BuildError(f"docker buildx is not installed on this machine, and this config's builder "
                               f"(driver {run.config.builder.driver}) is a buildx builder. Install the buildx plugin "
                               "to manage it; shipdeck's own builds use the Docker Engine API and need it only for "
                               "what the API cannot do (several arches, a cache, a remote builder).")
    async with run.step(STEP, title.capitalize()):
        for argv in commands:
            run.output(STEP, " ".join(argv))
            output = await _local(run, argv)
            if output:
                run.output(STEP, output)


async def create(run: Run) -> None:
    await _run_all(run, create_commands(run), "create the build setup")


async def remove(run: Run) -> None:
    await _run_all(run, remove_commands(run), "remove the build setup")


async def details(run: Run) -> None:
    """`Builder: <name>`, then `docker context ls` and `docker buildx ls` (each as far as it works here)."""
    lines = [f"Builder: {build.builder_name(run)}"]
    async with run.step(STEP, "Show the build setup"):
        for argv in (["docker", "context", "ls"], ["docker", "buildx", "ls"]):
            lines.append(await _local(run, argv, check=False))
    run.lines(STEP, "", lines)


async def dev(run: Run, *, output: str = "docker") -> None:
    """Build the working directory as it is (uncommitted and untracked files included), tagged
    `<image>:<version>-dirty` and `<image>:latest-dirty`, into the local engine (or `output`)."""
    result = await build.push(run, output=output, dirty=True)
    run.lines(STEP, "", [f"Built {', '.join(result.images)}"])
