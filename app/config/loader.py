"""Reading Kamal's config files: ERB, then YAML, then the destination deep merge.

Every mapping and sequence of the result remembers, per key and item, the `file:line` it came
from (after a merge, the file whose value won), so any later error can point at the source.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping

from app.config import erb, yamlsource
from app.config.scalars import ruby_class_name
from app.config.yamlsource import LocatedDict, Location
from app.errors import ConfigError


def destination_file(config_file: str, destination: str) -> str:
    """Pathname#sub_ext(".DEST.yml"): `config/deploy.yml` → `config/deploy.DEST.yml` (`-d ''` gives
    `config/deploy..yml`, as in Kamal)."""
    directory, name = os.path.split(config_file)
    stem, _ = os.path.splitext(name)
    return os.path.join(directory, f"{stem}.{destination}.yml")


def read_template(path: str, *, display: str, cwd: str) -> str:
    """The text of one config file; Kamal's message when it is missing, a clear one when unreadable."""
    absolute = os.path.normpath(os.path.join(cwd, path))
    try:
        with open(absolute, "rb") as handle:
            data = handle.read()
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.ENAMETOOLONG):
            raise ConfigError(f"Configuration file not found in {absolute}") from None
        if error.errno == errno.EISDIR:
            raise ConfigError("is a directory, not a file (Kamal: Is a directory @ io_fread)", file=display) from None
        raise ConfigError(f"cannot read: {error.strerror or error}", file=display) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"not valid UTF-8 (byte 0x{data[error.start]:02x})", file=display, line=line) from None


def read_config_file(path: str, *, display: str, cwd: str,
                     environ: Mapping[str, str]) -> tuple[LocatedDict, dict[str, str]]:
    """Render and parse one file; `display` is how errors name it. Also returns what its ERB set in ENV."""
    template = read_template(path, display=display, cwd=cwd)
    rendered = erb.render(template, file=display, environ=environ, cwd=cwd)
    value = yamlsource.load(rendered.text, display, rendered.line_of if rendered.mapped else None)
    rendered.check_unknowns(value)
    if not isinstance(value, LocatedDict):
        raise ConfigError(f"the configuration must be a mapping of keys to values, not {_describe(value)} "
                          f"(Kamal: undefined method 'symbolize_keys' for {_ruby_describe(value)})",
                          file=display, line=_first_line(value))
    return yamlsource.symbolize_top_level_keys(value), rendered.env_changes


def _describe(value: object) -> str:
    if value is None:
        return "an empty document"
    kind = ruby_class_name(value)
    names = {"Array": "a list", "String": "a string", "Integer": "an integer", "Float": "a number",
             "TrueClass": "a boolean", "FalseClass": "a boolean", "Symbol": "a symbol", "Date": "a date",
             "Time": "a time"}
    return names.get(kind, "a value of another kind")


def _ruby_describe(value: object) -> str:
    if value is None:
        return "nil"
    kind = ruby_class_name(value)
    return f"an instance of {kind}"


def _first_line(value: object) -> int:
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
             environ: Mapping[str, str]) -> tuple[LocatedDict, list[str], dict[str, str]]:
    """The merged raw config, the files it came from (base first) and what their ERB set in ENV
    (one process ENV in Kamal: the destination file's ERB sees what the base file's set)."""
    files = [config_file] + ([destination_file(config_file, destination)] if destination is not None else [])
    raw: object = LocatedDict()
    env = dict(environ)
    changes: dict[str, str] = {}
    for file in files:
        value, changed = read_config_file(file, display=file, cwd=cwd, environ=env)
        env.update(changed)
        changes.update(changed)
        raw = deep_merge(raw, value)
    assert isinstance(raw, LocatedDict)
    return raw, files, changes
