"""Translate a `docker run` command into the exact `POST /containers/create` the docker CLI sends.

The body mirrors docker CLI 28 talking to Engine API 1.41 field for field (including the zero
values it always sends), so a container created from it is indistinguishable from one created by
the CLI. `translate_run_command` is the one entry point; it raises `NotTranslatable` whenever the
result could differ, and the caller then runs the command string over SSH.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from app.remote.docker_errors import DockerCommandError, NotTranslatable
from app.remote.docker_mounts import Storage
from app.remote.docker_ports import Ports
from app.remote.docker_run_argv import RunArgs, parse_run_argv
from app.remote.docker_run_body import apply_flags, base_body
from app.remote.shell_words import split_words

PULL_POLICIES = ("always", "missing", "never")


@dataclass(frozen=True)
class RunRequest:
    """Everything `run_container` needs: the create call and how to behave around it."""

    name: str | None
    image: str
    body: dict
    platform: str | None = None
    pull: str = "missing"
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    auto_remove: bool = False

    def create_params(self) -> dict[str, str]:
        params = {}
        if self.name:
            params["name"] = self.name
        if self.platform:
            params["platform"] = self.platform
        return params


@dataclass(frozen=True)
class RunOverSSH:
    """The decision to run a `docker run` command string through the remote shell, and why."""

    command: str
    reason: str


def plan_run(command: str, home: str, env_files: Mapping[str, str]) -> RunRequest | RunOverSSH:
    """Translate when the result is certain to equal the CLI's; otherwise say why not. Bad input
    (an invalid flag value) still raises DockerCommandError, as the CLI would fail on it too."""
    try:
        return translate_run_command(command, home, env_files)
    except NotTranslatable as refusal:
        return RunOverSSH(command, refusal.reason)


def translate_run_command(command: str, home: str, env_files: Mapping[str, str]) -> RunRequest:
    """`docker run ...` as Kamal writes it → RunRequest. `env_files` maps env-file paths (as written
    in the command, or absolute) to their contents; `home` is the SSH user's home directory."""
    words = split_words(command, home)
    if words[:2] != ["docker", "run"]:
        raise NotTranslatable(f"not a `docker run` command: {' '.join(words[:2])!r}")
    return translate_run_argv(words[2:], home, env_files)


def translate_run_argv(argv: list[str], home: str, env_files: Mapping[str, str]) -> RunRequest:
    args = parse_run_argv(argv)
    pull = args.last("pull", "missing")
    if pull not in PULL_POLICIES:
        raise DockerCommandError(f"invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\"")
    body = copy.deepcopy(base_body())
    body["Image"] = args.image
    body["Cmd"] = args.command or None
    env = _environment(args, home, env_files)
    body["Env"] = env or None
    storage, ports = Storage(home), Ports()
    apply_flags(body, args, storage, ports)
    return RunRequest(
        name=args.last("name"), image=args.image, body=body, platform=args.last("platform"), pull=pull,
        detach=args.on("detach"), interactive=args.on("interactive"), tty=args.on("tty"), auto_remove=args.on("rm"),
    )


def _environment(args: RunArgs, home: str, env_files: Mapping[str, str]) -> list[str]:
    """Env-file lines first (verbatim, in order), then the `--env` values. The CLI keeps `--env` in a
    map: one entry per name (the last value wins), in an order that varies from run to run; we use
    the order of first appearance, which is one of the orders the CLI produces."""
    env: list[str] = []
    for path in args.all("env-file"):
        env.extend(parse_env_file(path, _env_file_text(path, home, env_files)))
    options: dict[str, str] = {}
    for value in args.all("env"):
        name, has_value, _ = value.partition("=")
        if not name:  # the value is not repeated: it may be a secret
            raise DockerCommandError('invalid argument for "-e, --env" flag: an environment variable without a name')
        if not has_value:
            raise NotTranslatable(f"--env {name} without a value takes it from the remote CLI's environment")
        options[name] = value
    return env + list(options.values())


def _env_file_text(path: str, home: str, env_files: Mapping[str, str]) -> str:
    absolute = posixpath.normpath(posixpath.join(home, path))
    for key in (path, absolute):
        if key in env_files:
            return env_files[key]
    raise NotTranslatable(f"the contents of the env file {path} were not given")


def parse_env_file(path: str, text: str) -> list[str]:
    """The CLI's env-file reader: lines as written (leading blanks trimmed, `\\r` dropped); no quote
    handling, no expansion; blank lines and `#` comments skipped."""
    lines: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        line = raw.removesuffix("\r").lstrip(" \t\n\v\f\r\x85\xa0")
        if not line or line.startswith("#"):
            continue
        name, has_value, value = line.partition("=")
        # Errors name the line, never its text: it may hold a secret.
        if any(blank in name for blank in " \t\n\v\f\r"):
            raise DockerCommandError(f"{path}:{number}: the variable name contains whitespace")
        if not name:
            raise DockerCommandError(f"{path}:{number}: no variable name")
        if not has_value:
            raise NotTranslatable(f"{path}:{number}: {name} without a value takes it from the remote environment")
        lines.append(f"{name}={value}")
    return lines
