"""What `kamal config` prints, as plain data, YAML or JSON.

Kamal prints Ruby symbols (`:roles:`, `:fatal`); shipdeck prints the same data with plain keys and
strings. `kamal config` shows the resolved SSH key_data; shipdeck shows `[REDACTED]` for every entry
that names a secret instead of printing the key.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping

from app import contract
from app.config.model import Config, thawed
from app.config.yamlsource import Symbol

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def plain(value: object) -> object:
    """Read-only and YAML-located containers as plain dicts/lists; Symbols as strings."""
    value = thawed(value)
    if isinstance(value, dict):
        return {plain_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Symbol):
        return str(value)
    return value


def plain_key(key: object) -> object:
    return str(key) if isinstance(key, Symbol) else key


def ssh_options(config: Config) -> dict[str, object]:
    """Kamal's Ssh#to_h: Net::SSH options without the logger, nils dropped, then log_level."""
    raw = config.raw.get("ssh") or {}
    options: dict[str, object] = {"user": raw.get("user", "root"), "port": raw.get("port", 22)}
    if raw.get("proxy") is not None:
        options["proxy"] = {"jump_proxies": config.ssh.proxy}
    elif raw.get("proxy_command") is not None:
        options["proxy"] = {"command_line_template": raw["proxy_command"], "command_line": None, "timeout": 60}
    options["keepalive"] = True
    options["keepalive_interval"] = 30
    for key in ("keys_only", "keys"):
        if raw.get(key) is not None:
            options[key] = raw[key]
    if raw.get("key_data") is not None:
        options["key_data"] = [REDACTED if _SECRET_NAME.match(str(entry)) else entry for entry in raw["key_data"]]
    if raw.get("config") is not None:
        options["config"] = raw["config"]
    options["log_level"] = raw.get("log_level", "fatal")
    return plain(options)  # type: ignore[return-value]


def kamal_config(config: Config) -> dict[str, object]:
    """The fields of `kamal config`, in its order; absent values are left out as Kamal's `compact` does."""
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
        "ssh_options": ssh_options(config),
        "sshkit": plain(config.raw.get("sshkit") or {}),
        "builder": plain(config.raw.get("builder") or {}),
        "accessories": plain(config.raw.get("accessories")),
        "logging": config.logging.args(),
    }
    return {key: value for key, value in data.items() if value is not None}


def _json_default(value: object) -> object:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot print {type(value).__name__}")


def to_json(data: Mapping[str, object]) -> str:
    return json.dumps(data, indent=2, default=_json_default, allow_nan=True) + "\n"


def to_yaml(data: Mapping[str, object]) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     explicit_start=True)
