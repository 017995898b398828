"""What `kamal config` prints, as Ruby-shaped data, Kamal's YAML, or JSON.

The YAML is Kamal's byte for byte (`:roles:`, `:log_level: :fatal`, Ruby's floats, Psych's quoting;
see `app.config.psych_dump`), so scripts that parse `kamal config` parse shipdeck's. One deliberate
difference: `ssh.key_data` entries that name a secret print as `[REDACTED]` where Kamal prints the
private key; entries that are not secret names are literal key data to Kamal and print as written.
The JSON form has the same fields with plain string keys.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Mapping

from app import contract
from app.config.model import Config, thawed
from app.config.psych_dump import RubyObject
from app.config.scalars import Symbol

REDACTED = "[REDACTED]"


def plain(value: object) -> object:
    """Read-only and YAML-located containers as plain dicts/lists; Symbols and Ruby objects as strings/dicts."""
    value = thawed(value)
    if isinstance(value, dict):
        return {plain_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, RubyObject):
        return {name: plain(item) for name, item in value.ivars}
    if isinstance(value, Symbol):
        return str(value)
    return value


def plain_key(key: object) -> object:
    if isinstance(key, Symbol):
        return str(key)
    if isinstance(key, datetime.date):
        return key.isoformat()  # JSON keys are strings, numbers, booleans or null
    return key


def _symbols(mapping: Mapping[str, object]) -> dict[object, object]:
    return {Symbol(key): value for key, value in mapping.items()}


def ssh_options(config: Config, secret_names: Collection[str] = ()) -> dict[object, object]:
    """Kamal's Ssh#to_h: Net::SSH options without the logger, nils dropped, then log_level.

    `secret_names` are the keys of the secrets files: a `key_data` entry naming one is a secret."""
    raw = config.raw.get("ssh") or {}
    options: dict[str, object] = {"user": thawed(raw.get("user", "root")), "port": thawed(raw.get("port", 22))}
    if raw.get("proxy") is not None:
        options["proxy"] = RubyObject("Net::SSH::Proxy::Jump", (("jump_proxies", config.ssh.proxy),))
    elif raw.get("proxy_command") is not None:
        options["proxy"] = RubyObject("Net::SSH::Proxy::Command", (
            ("command_line_template", raw["proxy_command"]), ("command_line", None), ("timeout", 60)))
    options["keepalive"] = True
    options["keepalive_interval"] = 30
    for key in ("keys_only", "keys"):
        if raw.get(key) is not None:
            options[key] = thawed(raw[key])
    if raw.get("key_data") is not None:
        options["key_data"] = [REDACTED if isinstance(entry, str) and entry in secret_names else entry
                               for entry in thawed(raw["key_data"])]  # type: ignore[union-attr]
    if raw.get("config") is not None:
        options["config"] = thawed(raw["config"])
    options["log_level"] = thawed(raw.get("log_level", Symbol("fatal")))
    return _symbols(options)


def kamal_config(config: Config, secret_names: Collection[str] = ()) -> dict[object, object]:
    """The fields of `kamal config`, in its order, keyed by Symbols; absent values are left out as
    Kamal's `compact` does."""
    version = config.require_version()
    data: dict[str, object] = {
        "roles": list(config.role_names),
        "hosts": list(config.all_hosts),
        "primary_host": config.primary_host,
        "version": version,
        "repository": config.repository,
        "absolute_image": f"{config.repository}:{version}",
        "service_with_version": f"{config.service}-{version}",
        "volume_args": contract.argumentize("--volume", list(config.volumes)) if config.volumes else [],
        "ssh_options": ssh_options(config, secret_names),
        "sshkit": thawed(config.raw.get("sshkit") or {}),
        "builder": thawed(config.raw.get("builder") or {}),
        "accessories": thawed(config.raw.get("accessories")),
        "logging": config.logging.args(),
    }
    return _symbols({key: value for key, value in data.items() if value is not None})


def _json_default(value: object) -> object:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot print {type(value).__name__}")


def to_json(data: Mapping[object, object]) -> str:
    return json.dumps(plain(data), indent=2, default=_json_default, allow_nan=True) + "\n"


def to_yaml(data: Mapping[object, object]) -> str:
    from app.config.psych_dump import dump

    return dump(dict(data))
