"""Registry credentials and `docker login`/`logout`, on servers and on this machine.

On a server, login runs the docker CLI with the password on stdin (`--password-stdin`), so the
server's `~/.docker/config.json` ends up exactly as after Kamal's `docker login -u -p`, while the
password never appears in a command line. Image pulls and pushes made through the Engine API carry
the same credentials in the `X-Registry-Auth` header.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil

from app import contract
from app.config.model import Registry
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote.docker_ops import RegistryAuth


class RegistryError(ShipdeckError):
    """A login or logout failed (the message is docker's, with secrets masked)."""


def _value(run: Run, value: str | None, is_secret: bool) -> str:
    if value is None:
        return ""
    return run.secrets[value] if is_secret else value


def registry_auth(run: Run, registry: Registry | None = None) -> RegistryAuth | None:
    """The credentials of `registry` (default: the app's); None for a local or anonymous registry."""
    registry = registry or run.config.registry
    if registry.local or not registry.username:
        return None
    return RegistryAuth(server=registry.server,
                        username=_value(run, registry.username, registry.username_is_secret),
                        password=_value(run, registry.password, registry.password_is_secret))


def login_command(registry: Registry, username: str) -> str:
    """The command a server runs: Kamal's `docker login`, with `--password-stdin` instead of `-p`."""
    parts = ["docker", "login"]
    if registry.server:
        parts.append(registry.server)
    parts += ["-u", contract.escape_shell_value(username), "--password-stdin"]
    return " ".join(parts)


def kamal_login_command(registry: Registry) -> str:
    """What Kamal shows for the same step (values masked), for plans and events."""
    server = f" {registry.server}" if registry.server else ""
    return f"docker login{server} -u [REDACTED] -p [REDACTED]"


def logout_command(registry: Registry) -> str:
    return "docker logout" + (f" {registry.server}" if registry.server else "")


DOCKER_CONFIG_DIR = ".docker"
DOCKER_CONFIG_FILE = ".docker/config.json"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"


async def record_credentials(remote, server: str | None, username: str, password: str) -> bool:
    """Write the `auths` entry `docker login` writes (when no credential helper is set), over SFTP.

    The same file, the same JSON layout (tab-indented, mode 0600 in a 0700 folder) as the docker CLI,
    without starting a docker CLI on the host. A file that already holds exactly what `docker login` would
    write (same bytes, mode 0600) is left alone: on a host that deploys often that saves five file
    operations. Returns False (leave it to the CLI) when the host's config uses a credential store or
    helper, or is not JSON we understand.
    """
    found = await remote.read_file_and_mode(DOCKER_CONFIG_FILE)
    existing, existing_mode = found if found is not None else (None, None)
    try:
        config = json.loads(existing) if existing and existing.strip() else {}
    except ValueError:
        return False
    helpers = config.get("credHelpers") if isinstance(config, dict) else None
    if not isinstance(config, dict) or config.get("credsStore") or (isinstance(helpers, dict) and server in helpers):
        return False
    auths = config.setdefault("auths", {})
    if not isinstance(auths, dict):
        return False
    auths[server or DOCKER_HUB_KEY] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    content = json.dumps(config, indent="\t").encode()
    if content == existing and existing_mode == 0o600:
        return True
    sftp = await remote.sftp()
    if found is None and not await sftp.exists(DOCKER_CONFIG_DIR):  # a file read there proves the folder
        await sftp.mkdir(DOCKER_CONFIG_DIR)
        await sftp.chmod(DOCKER_CONFIG_DIR, 0o700)
    await remote.write_file(DOCKER_CONFIG_FILE, content, mode=0o600)
    return True


def _logins(run: Run) -> set[tuple[str, str | None]]:
    done = getattr(run, "_registry_logins", None)
    if done is None:
        done = set()
        run._registry_logins = done  # type: ignore[attr-defined]
    return done


async def login_on_host(run: Run, host: str, registry: Registry | None = None, *, step: str = "registry.login",
                        force: bool = False) -> bool:
    """`docker login` on `host` (once per run and registry unless `force`); False when not needed.

    Within a run the credentials are recorded directly (they are checked by the pull that follows);
    the explicit `registry login` (`force`) runs the CLI so the registry verifies them at once.
    """
    registry = registry or run.config.registry
    auth = registry_auth(run, registry)
    if auth is None:
        return False
    key = (host, registry.server)
    if key in _logins(run) and not force:
        return True
    if not force and await record_credentials(run.host(host), registry.server, auth.username, auth.password):
        _logins(run).add(key)
        return True
    result = await run.host(host).run(login_command(registry, auth.username), input=auth.password, check=False)
    if not result.ok:
        raise RegistryError(f"{host}: docker login {registry.server or ''} failed: "
                            f"{(result.stderr or result.stdout).strip()}")
    _logins(run).add(key)
    return True


async def logout_on_host(run: Run, host: str, registry: Registry | None = None) -> None:
    registry = registry or run.config.registry
    result = await run.host(host).run(logout_command(registry), check=False)
    _logins(run).discard((host, registry.server))
    if not result.ok:
        raise RegistryError(f"{host}: {logout_command(registry)} failed: {(result.stderr or result.stdout).strip()}")


def _local_docker_cli() -> str:
    docker = shutil.which("docker")
    if docker is None:
        raise RegistryError("Docker is not installed locally")
    return docker


async def _local(argv: list[str], stdin: str | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate(stdin.encode() if stdin is not None else None)
    return process.returncode or 0, output.decode(errors="replace").strip()


async def login_locally(run: Run, registry: Registry | None = None) -> bool:
    """`docker login` on this machine (writes the local docker config, as Kamal's does)."""
    registry = registry or run.config.registry
    auth = registry_auth(run, registry)
    if auth is None:
        return False
    argv = [_local_docker_cli(), "login", *([registry.server] if registry.server else []),
            "-u", auth.username, "--password-stdin"]
    status, output = await _local(argv, stdin=auth.password)
    if status != 0:
        raise RegistryError(f"docker login {registry.server or ''} failed locally: {output}")
    return True


async def logout_locally(run: Run, registry: Registry | None = None) -> None:
    registry = registry or run.config.registry
    argv = [_local_docker_cli(), "logout", *([registry.server] if registry.server else [])]
    status, output = await _local(argv)
    if status != 0:
        raise RegistryError(f"docker logout failed locally: {output}")
