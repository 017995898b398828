"""Kamal's build context: a clean git clone of HEAD (default) or the working tree (`builder.context`).

The clone lives where Kamal keeps it (`<tmpdir>/kamal-clones/<service>-<sha256(pwd)[0..12]>`), so
both tools reuse one clone. The context goes to the engine as a tar stream honouring
`.dockerignore` (moby's pattern rules: `**`, `!` exceptions, last match wins).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets as _random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.config.model import Config
from app.errors import ShipdeckError


class BuildContextError(ShipdeckError):
    """The build context could not be prepared (git clone, Dockerfile, .dockerignore)."""


def _git(args: list[str], cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def git_root(project_dir: str) -> str:
    return _git(["rev-parse", "--show-toplevel"], project_dir).stdout.strip()


def git_revision(project_dir: str) -> str:
    return _git(["rev-parse", "HEAD"], project_dir).stdout.strip()


def uncommitted_changes(project_dir: str) -> str:
    return _git(["status", "--porcelain"], project_dir).stdout.strip()


def clone_directory(config: Config) -> str:
    digest = hashlib.sha256(config.project_dir.encode()).hexdigest()[:13]
    return os.path.join(tempfile.gettempdir(), "kamal-clones", f"{config.service}-{digest}")


def build_directory(config: Config) -> str:
    """Where the build runs: inside the clone (same relative place as the project), else the project."""
    if not config.builder.git_clone:
        return config.project_dir
    root = git_root(config.project_dir)
    relative = config.project_dir[len(root):] if config.project_dir.startswith(root) else ""
    return os.path.join(clone_directory(config), os.path.basename(root)) + relative


def prepare_clone(config: Config, say: Callable[[str], None]) -> str:
    """Clone (or reset) Kamal's build clone to HEAD and check it; re-clone once if it is broken."""
    directory = build_directory(config)
    try:
        _clone_or_reset(config, directory, say)
        _validate_clone(config, directory)
    except BuildContextError as error:
        say(f"Error preparing clone: {error}, deleting and retrying...")
        shutil.rmtree(clone_directory(config), ignore_errors=True)
        _clone(config, say)
        _validate_clone(config, directory)
    return directory


def _clone(config: Config, say: Callable[[str], None]) -> subprocess.CompletedProcess[str]:
    say(f"Cloning repo into build directory `{build_directory(config)}`...")
    os.makedirs(clone_directory(config), exist_ok=True)
    return _git(["-C", clone_directory(config), "clone", git_root(config.project_dir), "--recurse-submodules"])


def _clone_or_reset(config: Config, directory: str, say: Callable[[str], None]) -> None:
    result = _clone(config, say)
    if result.returncode == 0:
        return
    if "already exists and is not an empty directory" not in result.stderr:
        raise BuildContextError(f"Failed to clone repo: {result.stderr.strip()}")
    say(f"Resetting local clone as `{directory}` already exists...")
    root = git_root(config.project_dir)
    for step in (["remote", "set-url", "origin", root], ["fetch", "origin"],
                 ["reset", "--hard", git_revision(config.project_dir)], ["clean", "-fdx"],
                 ["submodule", "update", "--init"], ["gc", "--auto", "--quiet"]):
        outcome = _git(["-C", directory, *step])
        if outcome.returncode != 0:
            raise BuildContextError(f"Failed to clone repo: {outcome.stderr.strip()}")


def _validate_clone(config: Config, directory: str) -> None:
    status = _git(["-C", directory, "status", "--porcelain"])
    if status.returncode != 0:
        raise BuildContextError(f"Failed to validate clone: {status.stderr.strip()}")
    if status.stdout.strip():
        raise BuildContextError(f"Clone in {directory} is dirty, {status.stdout.strip()}")
    revision = _git(["-C", directory, "rev-parse", "HEAD"]).stdout.strip()
    expected = git_revision(config.project_dir)
    if revision != expected:
        raise BuildContextError(f"Clone in {directory} is not on the correct revision, expected `{expected}` "
                                f"but got `{revision}`")


# -- .dockerignore -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exclusion: bool


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """moby/patternmatcher: `*` and `?` stay within a path segment, `**` crosses them."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                    out.append("(.*/)?")
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def read_dockerignore(context_dir: str) -> list[_Pattern]:
    path = Path(context_dir) / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        line = os.path.normpath(line).lstrip("/")
        if line in ("", "."):
            continue
        patterns.append(_Pattern(_pattern_regex(line), exclusion))
    return patterns


def is_ignored(relative: str, patterns: list[_Pattern]) -> bool:
    """Last matching pattern wins; a pattern matching a parent directory matches its contents."""
    parents = []
    parts = relative.split("/")
    for index in range(1, len(parts) + 1):
        parents.append("/".join(parts[:index]))
    ignored = False
    for pattern in patterns:
        if any(pattern.regex.match(candidate) for candidate in parents):
            ignored = not pattern.exclusion
    return ignored


# -- the tar ---------------------------------------------------------------------------------------

def context_tar(context_dir: str, dockerfile: str) -> tuple[IO[bytes], str]:
    """An uncompressed tar of the context (a temporary file, rewound) and the Dockerfile's name in it.

    A Dockerfile outside the context is added under a random name, as the docker CLI does.
    """
    context = Path(context_dir).resolve()
    if not context.is_dir():
        raise BuildContextError(f"Build context {context_dir} is not a directory")
    dockerfile_path = Path(dockerfile).resolve()
    if not dockerfile_path.is_file():
        raise BuildContextError(f"Missing {dockerfile}")
    patterns = read_dockerignore(str(context))
    always = {".dockerignore"}
    try:
        dockerfile_name = str(dockerfile_path.relative_to(context))
        always.add(dockerfile_name)
        extra = None
    except ValueError:
        dockerfile_name = f".dockerfile.{_random.token_hex(10)}"
        extra = dockerfile_path
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (returned to the caller, who closes it)
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for current, directories, files in os.walk(context):
            relative_dir = os.path.relpath(current, context)
            relative_dir = "" if relative_dir == "." else relative_dir
            kept_dirs = []
            for name in sorted(directories):
                relative = f"{relative_dir}/{name}" if relative_dir else name
                if is_ignored(relative, patterns) and not any(p.exclusion for p in patterns):
                    continue
                kept_dirs.append(name)
                if not is_ignored(relative, patterns):
                    tar.add(os.path.join(current, name), arcname=relative, recursive=False, filter=_normalise)
            directories[:] = kept_dirs
            for name in sorted(files):
                relative = f"{relative_dir}/{name}" if relative_dir else name
                if relative in always or not is_ignored(relative, patterns):
                    tar.add(os.path.join(current, name), arcname=relative, recursive=False, filter=_normalise)
        if extra is not None:
            tar.add(str(extra), arcname=dockerfile_name, filter=_normalise)
    handle.seek(0)
    return handle, dockerfile_name


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Like the docker CLI: owner root, no user/group names."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
