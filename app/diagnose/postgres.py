"""Postgres accessories: where their data lives, which password the containers receive, the TCP probe,
and the exact commands of the two repairs (reset in place; back up, wipe, restore).

Facts relied on (official `postgres` image): `POSTGRES_PASSWORD` is applied only when the entrypoint
initialises an empty data directory; unix-socket connections inside the container are `trust`, every
other address goes through `host all all all scram-sha-256`; the socket is in /var/run/postgresql;
PGDATA is /var/lib/postgresql/data up to 17 and /var/lib/postgresql/<major>/docker from 18.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app import contract
from app.config.model import Accessory, Config
from app.diagnose.env_delivery import received_value
from app.diagnose.findings import LOCAL, Step, shipdeck_argv
from app.diagnose.image_refs import split_tag
from app.diagnose.scram import quote_identifier

SOCKET_DIR = "/var/run/postgresql"
DEFAULT_PORT = 5432
DEFAULT_USER = "postgres"
MAINTENANCE_DB = "postgres"  # always created by initdb
_IMAGE_NAMES = re.compile(r"(?:^|/)(?:postgres|postgis|pgvector|timescaledb(?:-ha)?)$")
_MAJOR_IN_TAG = re.compile(r"(?:^|pg|-)(?P<major>[0-9]{1,2})(?:[.\-_]|$)")


# ---------------------------------------------------------------- what the config says

def is_postgres(accessory: Accessory) -> bool:
    """A Postgres accessory: an image named like one, or an env with POSTGRES_PASSWORD."""
    repository, _ = split_tag(accessory.image)
    env_names = {*accessory.env.clear, *(name for name, _ in accessory.env.secrets)}
    return bool(_IMAGE_NAMES.search(repository)) or bool({"POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE"} & env_names)


def major_version(image: str) -> int | None:
    """The Postgres major version in an image tag (`16`, `16.2-alpine`, `pg16`, `latest-pg17`), if any."""
    _, tag = split_tag(image)
    found = _MAJOR_IN_TAG.search(tag[1:] if tag and tag.startswith(":") else "")
    return int(found["major"]) if found else None


def pgdata(accessory: Accessory) -> str:
    configured = accessory.env.clear.get("PGDATA")
    if configured:
        return str(configured)
    major = major_version(accessory.image)
    return f"/var/lib/postgresql/{major}/docker" if major and major >= 18 else "/var/lib/postgresql/data"


class DataKind(Enum):
    DIRECTORY = "directory"  # a host directory (an accessory `directories:` entry or a bind `volumes:` entry)
    VOLUME = "volume"  # a named docker volume
    ANONYMOUS = "anonymous volume"  # nothing mounted: the image's own VOLUME, gone with the container


@dataclass(frozen=True)
class DataLocation:
    kind: DataKind
    source: str  # host path (relative to the SSH user's home unless absolute) or volume name; "" if anonymous
    mount: str  # the path inside the container
    pgdata: str

    def describe(self) -> str:
        if self.kind is DataKind.ANONYMOUS:
            return f"an anonymous volume at {self.pgdata} (nothing is mounted there)"
        inside = "" if self.mount == self.pgdata else f", PGDATA {self.pgdata}"
        where = f"~/{self.source}" if self.kind is DataKind.DIRECTORY and not self.source.startswith(("/", "$")) \
            else self.source
        return f"{self.kind.value} {where} (mounted at {self.mount}{inside})"


def _mounts(accessory: Accessory) -> list[tuple[str, DataKind, str]]:
    mounts = [(directory.remote, DataKind.DIRECTORY, directory.volume_host_path)
              for directory in accessory.directories]
    for volume in accessory.volumes:
        parts = volume.split(":")
        if len(parts) < 2:
            continue
        source, target = parts[0], parts[1]
        kind = DataKind.VOLUME if "/" not in source and not source.startswith(("$", "~", ".")) \
            else DataKind.DIRECTORY
        mounts.append((target, kind, source))
    return mounts


def data_location(accessory: Accessory) -> DataLocation:
    """Which mount holds PGDATA: the one whose container path contains it (the deepest), else anonymous."""
    data = pgdata(accessory)
    holding = [(target.rstrip("/") or "/", kind, source) for target, kind, source in _mounts(accessory)
               if data == target.rstrip("/") or data.startswith(target.rstrip("/") + "/")]
    if not holding:
        return DataLocation(DataKind.ANONYMOUS, "", data, data)
    target, kind, source = max(holding, key=lambda mount: len(mount[0]))
    return DataLocation(kind, source, target, data)


def _env_value(accessory: Accessory, name: str, secrets: Mapping[str, str]) -> str | None:
    """What the container sees for env var `name`: clear values go on the command line (shell-quoted, so
    unchanged); secrets go through Kamal's env file (`received_value`)."""
    for env_name, secret_key in accessory.env.secrets:
        if env_name == name and secret_key in secrets:
            return received_value(secrets[secret_key])
    if name in accessory.env.clear:
        return str(accessory.env.clear[name])
    return None


def postgres_user(accessory: Accessory, secrets: Mapping[str, str] | None = None) -> str:
    return _env_value(accessory, "POSTGRES_USER", secrets or {}) or DEFAULT_USER


def password_secret(accessory: Accessory) -> str | None:
    """The secret key behind the accessory's POSTGRES_PASSWORD, when it is a secret."""
    return next((key for name, key in accessory.env.secrets if name == "POSTGRES_PASSWORD"), None)


def container_password(accessory: Accessory, secrets: Mapping[str, str]) -> str | None:
    """The password the containers receive: the one to probe with and to set (after env-file escaping)."""
    return _env_value(accessory, "POSTGRES_PASSWORD", secrets)


# ---------------------------------------------------------------- the TCP probe

class ProbeOutcome(Enum):
    ACCEPTED = "accepted"  # the configured password logs in over TCP
    REJECTED = "rejected"  # `password authentication failed`: the data directory has another password
    NO_ROLE = "no such role"  # only where no password is asked; over scram a missing role looks REJECTED
    UNREACHABLE = "unreachable"  # no container, not running, not resolvable, refused
    ERROR = "error"  # anything else (detail says what)


@dataclass(frozen=True)
class ProbeResult:
    outcome: ProbeOutcome
    detail: str = ""


@dataclass(frozen=True)
class PasswordProbe:
    """Log in over TCP the way the app does, with the password on stdin (never in argv).

    Run `step.argv` on `step.where`, feeding `stdin(password)`; then `interpret` the result. From the
    accessory's own container the TCP connection goes to its name on the network, so it arrives from a
    non-loopback address and meets the `scram-sha-256` rule (loopback and the socket are `trust`).
    """

    step: Step
    user: str

    @staticmethod
    def stdin(password: str) -> bytes:
        if "\n" in password or "\0" in password:
            raise ValueError("the probe password must be one line (containers never receive a raw newline)")
        return password.encode("utf-8", "surrogateescape") + b"\n"


def probe_script(server: str, user: str, port: int = DEFAULT_PORT) -> str:
    """The shell text of the probe: read one line into PGPASSWORD, then one `SELECT 1` over TCP."""
    return ("IFS= read -r PGPASSWORD; export PGPASSWORD; exec psql -X -w -q -tA "
            f"-h {shlex.quote(server)} -p {port} -U {shlex.quote(user)} -d {MAINTENANCE_DB} -c 'SELECT 1'")


def password_probe(accessory: Accessory, host: str, user: str, *, sidecar: bool = False,
                   port: int = DEFAULT_PORT) -> PasswordProbe:
    """The probe from the accessory's container (`docker exec -i`), or from a short-lived container of the
    same image on the accessory's network (`sidecar`), which is exactly the app's point of view."""
    script = probe_script(accessory.service_name, user, port)
    if sidecar:
        argv = ("docker", "run", "--rm", "-i", "--network", accessory.network, "--entrypoint", "sh",
                accessory.image, "-c", script)
    else:
        argv = ("docker", "exec", "-i", accessory.service_name, "sh", "-c", script)
    return PasswordProbe(Step(host, argv, stdin="the password the app's containers receive (one line)",
                              purpose=f"log in over TCP to {accessory.service_name} as {user}"), user)


_FAILED = re.compile(r"password authentication failed for user")
_NO_ROLE = re.compile(r'role "[^"]*" does not exist')
_UNREACHABLE = re.compile(r"could not translate host name|Connection refused|No such container|is not running"
                          r"|Name or service not known|timeout expired|No route to host", re.IGNORECASE)


def interpret(exit_status: int, stdout: str, stderr: str) -> ProbeResult:
    detail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if exit_status == 0 and stdout.strip() == "1":
        return ProbeResult(ProbeOutcome.ACCEPTED)
    if _FAILED.search(stderr):
        return ProbeResult(ProbeOutcome.REJECTED, detail)
    if _NO_ROLE.search(stderr):
        return ProbeResult(ProbeOutcome.NO_ROLE, detail)
    if _UNREACHABLE.search(stderr):
        return ProbeResult(ProbeOutcome.UNREACHABLE, detail)
    return ProbeResult(ProbeOutcome.ERROR, detail or f"exit status {exit_status}")


# ---------------------------------------------------------------- the repairs' commands

def psql_command(user: str, *, socket_dir: str = SOCKET_DIR, stop_on_error: bool = True) -> tuple[str, ...]:
    """psql over the unix socket (trust inside the official image: no password), SQL on stdin."""
    return ("psql", "-X", "-q", *(("-v", "ON_ERROR_STOP=1") if stop_on_error else ()),
            "-h", socket_dir, "-U", user, "-d", MAINTENANCE_DB)


def dumpall_command(user: str, *, socket_dir: str = SOCKET_DIR) -> tuple[str, ...]:
    return ("pg_dumpall", "-h", socket_dir, "-U", user)


def _in_container(container: str, command: tuple[str, ...], *, stdin: bool) -> tuple[str, ...]:
    return ("docker", "exec", *(("-i",) if stdin else ()), container, *command)


def reset_step(accessory: Accessory, host: str, user: str) -> Step:
    return Step(host, _in_container(accessory.service_name, psql_command(user), stdin=True),
                stdin=f"ALTER ROLE {quote_identifier(user)} PASSWORD '<SCRAM-SHA-256 verifier of the password the "
                      "app receives, computed locally>'",
                purpose="set the password in place; no data is touched")


def dump_step(accessory: Accessory, host: str, user: str, dump_path: str) -> Step:
    return Step(host, _in_container(accessory.service_name, dumpall_command(user), stdin=False),
                stdout=f"{dump_path} (local, mode 0600)", purpose="back up every database and role")


def restore_step(accessory: Accessory, host: str, user: str, dump_path: str) -> Step:
    """Restore into the fresh cluster. Not stopping on errors: a pg_dumpall script re-creates roles and
    databases the fresh cluster already has (`role "postgres" already exists`), as PostgreSQL documents."""
    return Step(host, _in_container(accessory.service_name, psql_command(user, stop_on_error=False), stdin=True),
                stdin=f"{dump_path} (local)",
                purpose="restore every database and role from the dump")


def host_path(source: str, home: str | None) -> str:
    """An absolute host path for a mount source written relative to the SSH user's home (`$PWD/...` as Kamal
    writes it, `~/...`, or bare); `$HOME` stands in when the home directory is not known."""
    if source.startswith("/"):
        return source
    for prefix in ("$PWD/", "${PWD}/", "$HOME/", "${HOME}/", "~/"):
        if source.startswith(prefix):
            source = source[len(prefix):]
            break
    return f"{home or '$HOME'}/{source}"


def wipe_steps(accessory: Accessory, host: str, location: DataLocation, home: str | None = None) -> tuple[Step, ...]:
    """Stop and remove the container, then empty the data directory or remove the volume.

    A data directory belongs to the container's postgres user (uid 999), so it is emptied from a
    container of the accessory's own image, as root, rather than by `rm` as the SSH user.
    """
    container = accessory.service_name
    steps = [Step(host, ("docker", "container", "stop", container), purpose="stop the accessory"),
             Step(host, ("docker", "container", "rm", "--volumes", container),
                  purpose="remove its container (and an anonymous data volume with it)")]
    if location.kind is DataKind.DIRECTORY:
        path = host_path(location.source, home)
        steps.append(Step(host, ("docker", "run", "--rm", "--user", "0", "--entrypoint", "find",
                                 "--volume", f"{path}:/wipe", accessory.image, "/wipe", "-mindepth", "1", "-delete"),
                          purpose=f"empty the data directory {path}"))
    elif location.kind is DataKind.VOLUME:
        steps.append(Step(host, ("docker", "volume", "rm", location.source),
                          purpose=f"remove the data volume {location.source}"))
    return tuple(steps)


def boot_step(config: Config, accessory: Accessory) -> Step:
    return Step(LOCAL, shipdeck_argv(config, "accessory", "boot", accessory.name),
                purpose="boot the accessory afresh (the entrypoint initialises it with the configured password)")


def app_boot_step(config: Config) -> Step:
    return Step(LOCAL, shipdeck_argv(config, "app", "boot"), purpose="reboot the app containers so they reconnect")


def backup_dir(config: Config, environ: Mapping[str, str], home: str) -> str:
    """Local dumps go under the XDG state directory, outside the project (a dump holds data and role
    password verifiers and must never be committed)."""
    state = environ.get("XDG_STATE_HOME") or f"{home}/.local/state"
    return f"{state}/shipdeck/backups/{contract.service_and_destination(config.service, config.destination)}"


def dump_path(directory: str, accessory: Accessory, host: str, when: datetime) -> str:
    safe_host = re.sub(r"[^A-Za-z0-9._-]", "_", host)
    return f"{directory}/{accessory.service_name}-{safe_host}-{when.strftime('%Y%m%dT%H%M%SZ')}.sql"
