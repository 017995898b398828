"""Reading Kamal's config files: ERB, then YAML, then the destination deep merge.

Every mapping and sequence of the result remembers, per key and item, the `file:line` it came
from (after a merge, the file whose value won), so any later error can point at the source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from app.config import erb, yamlsource
from app.config.yamlsource import LocatedDict, Location
from app.errors import ConfigError


def destination_file(config_file: str, destination: str) -> str:
    """Pathname#sub_ext(".DEST.yml"): `config/deploy.yml` → `config/deploy.DEST.yml`."""
    directory, name = os.path.split(config_file)
    stem, _ = os.path.splitext(name)
    return os.path.join(directory, f"{stem}.{destination}.yml")


def read_config_file(path: str, *, display: str, cwd: str, environ: Mapping[str, str]) -> LocatedDict:
    """Render and parse one file; `display` is how errors name it."""
    absolute = os.path.normpath(os.path.join(cwd, path))
    if not os.path.isfile(absolute):
        raise ConfigError(f"Configuration file not found in {absolute}")
    try:
        with open(absolute, encoding="utf-8") as handle:
            template = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the configuration: {error}", file=display) from None
    rendered = erb.render(template, file=display, environ=environ, cwd=cwd)
    value = yamlsource.load(rendered.text, display, rendered.line_of)
    if not isinstance(value, LocatedDict):
        kind = "empty" if value is None else f"a {type(value).__name__}"
        raise ConfigError(f"the configuration must be a mapping of keys to values, not {kind}",
                          file=display, line=1 if value is None else _first_line(value))
    return value


def _first_line(value: object) -> int | None:
    location = getattr(value, "location", None)
    return location.line if isinstance(location, Location) else 1


def deep_merge(base: object, override: object) -> object:
    """ActiveSupport's deep_merge: hashes merge recursively, anything else is replaced."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = LocatedDict(base)
    merged.location = getattr(base, "location", None)
    merged.key_locations = dict(getattr(base, "key_locations", {}))
    override_locations = getattr(override, "key_locations", {})
    for key, value in override.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
        if key in override_locations:
            merged.key_locations[key] = override_locations[key]
    return merged


def load_raw(config_file: str, destination: str | None, *, cwd: str,
             environ: Mapping[str, str]) -> tuple[LocatedDict, list[str]]:
    """The merged raw config and the files it came from (base first)."""
    files = [config_file] + ([destination_file(config_file, destination)] if destination else [])
    raw: object = LocatedDict()
    for file in files:
        raw = deep_merge(raw, read_config_file(file, display=file, cwd=cwd, environ=environ))
    assert isinstance(raw, LocatedDict)
    return raw, files
