"""A Kamal project as the engine opens it: the typed config, its secrets, and how to reach each host."""

from __future__ import annotations

from typing import Any

from app.config import load_config
from app.config.model import Config
from app.remote.ssh import SSHTarget


def open_project(config_file: str = "config/deploy.yml", destination: str | None = None,
                 version: str | None = None) -> tuple[Config, Any]:
    """Load and validate the config (raises ConfigError with file:line) and open its secrets."""
    config = load_config(config_file=config_file, destination=destination, version=version)
    return config, open_secrets(config)


def open_secrets(config: Config) -> Any:
    from app.secrets import Secrets

    return Secrets(config.project_dir, secrets_path=config.secrets_path, destination=config.destination)


def ssh_target(config: Config, host: str, secrets: Any) -> SSHTarget:
    """The connection settings Kamal would use for `host` (ssh section, keys from secrets)."""
    ssh = config.ssh
    key_data: tuple[str, ...] = ()
    if ssh.key_data:
        # As Kamal: an entry named in the secrets files is that secret; anything else is the key itself
        # (inline key_data, deprecated in Kamal but accepted).
        defined = set(secrets.keys())
        key_data = tuple(secrets[name] if name in defined else name for name in ssh.key_data)
    if ssh.config is None or ssh.config is True:
        ssh_config: bool | tuple[str, ...] = True
    elif ssh.config is False:
        ssh_config = False
    elif isinstance(ssh.config, str):
        ssh_config = (config.path(ssh.config),)
    else:
        ssh_config = tuple(config.path(path) for path in ssh.config)
    address = config.ssh_hostname(host)
    return SSHTarget(
        host=host,
        address=address if address != host else None,
        user=ssh.user,
        port=int(ssh.port),
        keys=tuple(config.path(key) for key in (ssh.keys or ())),
        keys_only=bool(ssh.keys_only),
        key_data=key_data,
        proxy=ssh.proxy,
        proxy_command=ssh.proxy_command,
        config=ssh_config,
    )


def server_target(spec: str, *, ssh_config: bool | tuple[str, ...] = True) -> SSHTarget:
    """`[user@]host[:port]` as given on the command line in server mode (user root, port 22 by default,
    `~/.ssh/config` applied as ssh would)."""
    user, _, address = spec.rpartition("@")
    host, port = address, 22
    if address.startswith("[") and "]" in address:
        host, _, rest = address[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
        if not port_text.isdigit():
            from app.errors import UsageError

            raise UsageError(f"{spec}: the port after ':' must be a number")
        port = int(port_text)
    return SSHTarget(host=host, user=user or "root", port=port, config=ssh_config)
