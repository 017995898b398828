"""Kamal's config files as a typed, validated, immutable `Config`.

`load_config` reads `config/deploy.yml` (and `config/deploy.<destination>.yml`) exactly as Kamal 2.11
does: ERB first, YAML with anchors, destination deep merge, Kamal's validation rules and messages,
each error located at `file:line`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config.model import Config

__all__ = ["Config", "load_config"]


def __getattr__(name: str) -> object:
    # `Config` is imported on first use so that `import app.config` (every CLI start) stays cheap.
    if name == "Config":
        from app.config.model import Config

        return Config
    raise AttributeError(name)


def load_config(config_file: str = "config/deploy.yml", destination: str | None = None,
                version: str | None = None, cwd: str | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate a Kamal config; raises `app.errors.ConfigError` (exit 2) on bad input.

    `cwd` is the project directory (Kamal's working directory: relative paths, ERB shell-outs, git
    and hooks are resolved there); `environ` is the environment ERB sees (default: os.environ). As in
    Kamal, whose ERB runs in its own process, what the ERB sets in ENV (`Dotenv.load`, `ENV["X"] = ...`)
    is then set in os.environ too, where the secrets files see it, unless `environ` is given.
    """
    from app.config.build import build_config
    from app.config.loader import load_raw
    from app.config.version import resolve_version

    cwd = os.path.abspath(cwd or os.getcwd())
    env = dict(os.environ if environ is None else environ)
    if destination is not None:
        env["KAMAL_DESTINATION"] = destination
    else:
        env.pop("KAMAL_DESTINATION", None)
    raw, files, env_changes = load_raw(config_file, destination, cwd=cwd, environ=env)
    if environ is None:
        os.environ.update(env_changes)
    env.update(env_changes)
    builder = raw.get("builder")
    context_set = isinstance(builder, dict) and builder.get("context") is not None
    info = resolve_version(version, cwd=cwd, environ=env, builder_context_set=context_set)
    return build_config(raw, config_file=config_file, files=files, destination=destination, cwd=cwd,
                        version=info.version, version_problem=info.problem, git_used=info.git_used)
