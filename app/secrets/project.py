"""Where a project's secrets live: `secrets_path` from `config/deploy.yml` (and `deploy.DEST.yml`).

Only that one key is needed, so it is read without requiring the rest of the config to be valid:
a top-level `secrets_path:` line, the destination file's overriding the base file's. Like Kamal,
the path is relative to the current directory, and the config file (and the destination's file)
must exist.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.errors import ConfigError
from app.secrets.store import DEFAULT_SECRETS_PATH

_SECRETS_PATH_LINE = re.compile(r"^secrets_path:[ \t]*(?P<value>.*?)[ \t]*$", re.M)


def destination_config_path(config_file: str, destination: str) -> Path:
    path = Path(config_file)
    return path.with_name(f"{path.stem}.{destination}{path.suffix}")


def _secrets_path_in(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", file=str(path)) from None
    matches = list(_SECRETS_PATH_LINE.finditer(text))
    if not matches:
        return None
    import yaml

    match = matches[-1]  # the last one wins, as in YAML
    raw = match.group("value")
    try:
        value = yaml.safe_load(raw) if raw else None
    except yaml.YAMLError:
        value = raw
    if value is not None and not isinstance(value, str):
        line = text.count("\n", 0, match.start()) + 1
        raise ConfigError("secrets_path should be a string", file=str(path), line=line)
    return value or None


def secrets_path_for(config_file: str, destination: str | None, *, required: bool = True) -> str:
    """`secrets_path` for this config and destination (default `.kamal/secrets`)."""
    base = Path(config_file)
    files = [base] + ([destination_config_path(config_file, destination)] if destination else [])
    result = DEFAULT_SECRETS_PATH
    for path in files:
        if not path.is_file():
            if required:
                raise ConfigError(f"Configuration file not found in {path.resolve()}")
            continue
        result = _secrets_path_in(path) or result
    return result
