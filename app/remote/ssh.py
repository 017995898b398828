"""Opening one SSH connection to a host, the way Kamal's `ssh:` settings describe it.

Host keys are checked strictly: a key must be in one of the known_hosts sources (the files named by
the ssh config's `UserKnownHostsFile` or `~/.ssh/known_hosts`, shipdeck's own
`~/.config/shipdeck/known_hosts` where keys confirmed in the dashboard go, and `$SSH_KNOWN_HOSTS`
for CI). An unknown or changed key is refused with its fingerprint.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncssh

from app.remote.errors import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)

SHIPDECK_KNOWN_HOSTS = Path("~/.config/shipdeck/known_hosts")
# Bytes taken from the socket per read. asyncssh keeps what has arrived in one bytes object and slices each
# packet off its front, copying the rest: with asyncio's 256 KiB reads and the ~1 KiB packets of a log stream
# (Docker sends a frame per line), that copying cost more than decrypting. 16 KiB reads bound it.
SOCKET_READ_SIZE = 16 * 1024
KNOWN_HOSTS_ENV = "SSH_KNOWN_HOSTS"


@dataclass(frozen=True)
class SSHTarget:
    """Everything needed to reach one host; built from the config's `ssh:` section."""

    host: str
    user: str = "root"
    port: int = 22
    keys: tuple[str, ...] = ()
    keys_only: bool = False
    key_data: tuple[str, ...] = field(default=(), repr=False)  # PEM texts (resolved secrets)
    proxy: str | None = None  # jump host, `[user@]host[:port]`
    proxy_command: str | None = None
    config: bool | tuple[str, ...] = True  # True: ~/.ssh/config; False: none; paths: those files
    known_hosts: tuple[str, ...] = ()  # explicit files; empty: from ssh config or ~/.ssh/known_hosts
    connect_timeout: float = 15.0
    keepalive_interval: float = 30.0
    trusted_keys_file: str = str(SHIPDECK_KNOWN_HOSTS)  # where keys the operator confirmed are kept
    address: str | None = None  # where to connect when it differs from the server entry (`127.0.0.1:1`)

    @property
    def connect_host(self) -> str:
        return self.address or self.host


@dataclass
class _KnownHostsSource:
    label: str
    data: bytes


class _Client(asyncssh.SSHClient):
    """Remembers the key a server presented when it was not trusted, for a useful error, and tells
    `on_lost` when an established connection goes away."""

    def __init__(self, on_lost: Callable[[Exception | None], None] | None = None) -> None:
        self.rejected_key: asyncssh.SSHKey | None = None
        self.on_lost = on_lost
        self.established = False

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.rejected_key = key
        return False

    def auth_completed(self) -> None:
        self.established = True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.established and self.on_lost is not None:
            self.on_lost(exc)


def _jump_host(proxy: str) -> str:
    """Kamal gives a bare jump host the user root."""
    return proxy if "@" in proxy else f"root@{proxy}"


def jump_target(target: SSHTarget) -> SSHTarget | None:
    """The jump host (`ssh.proxy`) as a target of its own, with the same keys, ssh config and known hosts
    (as `ssh -J` would use them), so the first hop is checked and authenticated like the last."""
    if not target.proxy:
        return None
    user, _, address = _jump_host(target.proxy).partition("@")
    host, port = address, 22
    if address.startswith("[") and "]:" in address:
        host, _, port_text = address[1:].partition("]:")
        port = int(port_text)
    elif address.count(":") == 1:
        host, _, port_text = address.partition(":")
        port = int(port_text)
    return replace(target, host=host, user=user, port=port, proxy=None, proxy_command=None)


def _config_argument(config: bool | tuple[str, ...]) -> object:
    if config is True:
        return ()
    if config is False:
        return None
    return [str(Path(path).expanduser()) for path in config]


def _read_sources(files: list[str], trusted_keys_file: str) -> list[_KnownHostsSource]:
    sources = []
    for name in files:
        path = Path(name).expanduser()
        if path.is_file():
            sources.append(_KnownHostsSource(str(path), path.read_bytes()))
    own = Path(trusted_keys_file).expanduser()
    if own.is_file():
        sources.append(_KnownHostsSource(str(own), own.read_bytes()))
    from_env = os.environ.get(KNOWN_HOSTS_ENV)
    if from_env:
        sources.append(_KnownHostsSource(f"${KNOWN_HOSTS_ENV}", from_env.encode() + b"\n"))
    return sources


def _known_for(source: _KnownHostsSource, host: str, addr: str, port: int) -> list[asyncssh.SSHKey]:
    try:
        known = asyncssh.import_known_hosts(source.data.decode(errors="replace"))
    except (asyncssh.KeyImportError, ValueError):
        return []
    return list(known.match(host, addr, port if port != 22 else None)[0])


def _client_keys(target: SSHTarget) -> list | None:
    keys: list = [str(Path(path).expanduser()) for path in target.keys]
    for pem in target.key_data:
        keys.append(asyncssh.import_private_key(pem))
    return keys or ()  # () lets asyncssh take IdentityFile from ssh_config (None would disable keys)


# The ciphers offered, in order, when the ssh config names none: asyncssh's default set with the AES-GCM ones
# first. Decrypting a packet with AES-GCM is one call into OpenSSL; asyncssh's chacha20-poly1305 takes three
# cipher set-ups and a Poly1305 check per packet, which shows in a long log stream. Every OpenSSH server offers
# AES-GCM; one that refuses it still gets chacha20-poly1305 or AES-CTR.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                     "aes256-ctr", "aes192-ctr", "aes128-ctr")


def connection_options(target: SSHTarget) -> asyncssh.SSHClientConnectionOptions:
    """asyncssh options for the target (ssh config applied, explicit settings winning as in Kamal).

    The ssh config's `Ciphers` is honoured as it stands; without one, `PREFERRED_CIPHERS` are offered."""
    kwargs: dict = {
        "host": target.connect_host,
        "port": target.port,
        "username": target.user,
        "config": _config_argument(target.config),
        "connect_timeout": target.connect_timeout,
        "keepalive_interval": target.keepalive_interval,
        "keepalive_count_max": 3,
        "client_keys": _client_keys(target),
    }
    if target.keys_only:
        kwargs["agent_path"] = None
    if target.proxy_command:
        kwargs["proxy_command"] = target.proxy_command
    # Built once with our cipher order (each build parses the ssh config again, ~6 ms a host); only a config
    # that names its own `Ciphers` gets a second build, without ours, so that its choice stands.
    options = asyncssh.SSHClientConnectionOptions(**kwargs, encryption_algs=list(PREFERRED_CIPHERS))
    if options.config.get("Ciphers") is not None:
        options = asyncssh.SSHClientConnectionOptions(**kwargs)
    return options


def _known_hosts_files(target: SSHTarget, options: asyncssh.SSHClientConnectionOptions) -> list[str]:
    if target.known_hosts:
        return list(target.known_hosts)
    configured = options.known_hosts
    if isinstance(configured, (list, tuple)) and configured:
        return [str(item) for item in configured]
    if isinstance(configured, str):
        return [configured]
    return ["~/.ssh/known_hosts"]


def connect_reason(error: OSError) -> str:
    """The reason in the system's words ("Connection refused", "No route to host"), not asyncio's
    "Connect call failed (address)" that hides it."""
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the name ({error.strerror or error})"
    if error.errno:
        return os.strerror(error.errno)
    return str(error.strerror or error)


async def open_connection(
    target: SSHTarget, tunnel: asyncssh.SSHClientConnection | None = None,
    on_lost: Callable[[Exception | None], None] | None = None,
) -> asyncssh.SSHClientConnection:
    """Connect and authenticate (through `tunnel` when given), turning every failure into one clear,
    host-specific error. `on_lost` is called (from the event loop) if the connection later drops."""
    options = connection_options(target)
    sources = _read_sources(_known_hosts_files(target, options), target.trusted_keys_file)
    known_hosts = b"".join(source.data.rstrip(b"\n") + b"\n" for source in sources)
    client = _Client(on_lost)
    try:
        connection, _ = await asyncssh.create_connection(
            lambda: client, target.connect_host, options=options, known_hosts=known_hosts,
            **({"tunnel": tunnel} if tunnel is not None else {}),
        )
    except asyncssh.HostKeyNotVerifiable as error:
        raise _host_key_error(target, client, sources) from error
    except asyncssh.PermissionDenied as error:
        raise AuthenticationFailed(
            target.host,
            f"the server refused the SSH keys offered for user {target.user!r} "
            f"(check ssh.user and ssh.keys; {error.reason})",
        ) from error
    except TimeoutError as error:
        raise HostUnreachable(
            target.host, f"no SSH answer on port {target.port} within {target.connect_timeout:g}s"
        ) from error
    except (OSError, socket.gaierror) as error:
        raise HostUnreachable(target.host, f"cannot connect to port {target.port}: {connect_reason(error)}") \
            from error
    except asyncssh.Error as error:
        raise HostUnreachable(target.host, f"SSH failed: {error.reason}") from error
    limit_read_size(connection)
    return connection


def limit_read_size(connection: asyncssh.SSHClientConnection, size: int = SOCKET_READ_SIZE) -> None:
    """Read at most `size` bytes a time from the connection's socket (see SOCKET_READ_SIZE). Only a socket
    transport of asyncio's has the setting; a connection through a jump host (a channel) is left as it is."""
    transport = getattr(connection, "_transport", None)  # asyncssh has no public accessor for it
    if isinstance(transport, asyncio.Transport) and isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = size  # type: ignore[attr-defined]


def _host_key_error(target: SSHTarget, client: _Client, sources: list[_KnownHostsSource]) -> Exception:
    key = client.rejected_key
    if key is None:
        return HostUnreachable(target.host, "the server's host key could not be verified")
    fingerprint = key.get_fingerprint("sha256")
    for source in sources:
        if _known_for(source, target.connect_host, target.connect_host, target.port):
            return HostKeyChanged(target.host, fingerprint, key.get_algorithm(), source.label)
    return HostKeyUnknown(target.host, fingerprint, key.get_algorithm(), known_hosts_line(target, key))


def known_hosts_line(target: SSHTarget, key: asyncssh.SSHKey) -> str:
    host = target.connect_host
    pattern = host if target.port == 22 else f"[{host}]:{target.port}"
    return f"{pattern} {key.export_public_key('openssh').decode().strip()}"


def trust_host_key(target: SSHTarget, line: str) -> Path:
    """Record a `known_hosts` line the operator confirmed (after seeing its fingerprint) in shipdeck's
    own known_hosts file, which every later connection reads."""
    path = Path(target.trusted_keys_file).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a") as handle:
        handle.write(line.rstrip("\n") + "\n")
    return path
