"""Errors from talking to servers, each naming the host and saying what to do about it."""

from __future__ import annotations

from app.errors import ShipdeckError


class RemoteError(ShipdeckError):
    """Something failed on (or on the way to) one host."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(f"{host}: {message}")


class HostUnreachable(RemoteError):
    """The TCP connection or the SSH handshake did not complete."""


class HostKeyUnknown(RemoteError):
    """The server's host key is in no known_hosts source; the operator must confirm it first."""

    def __init__(self, host: str, fingerprint: str, key_type: str, known_hosts_line: str = "") -> None:
        self.fingerprint = fingerprint
        self.key_type = key_type
        self.known_hosts_line = known_hosts_line  # what trusting it would record
        super().__init__(
            host,
            f"host key is not known ({key_type} {fingerprint}). Check the fingerprint with the server's "
            f"administrator, then trust it with `ssh-keyscan -t {key_type_for_keyscan(key_type)} {host} >> "
            "~/.ssh/known_hosts` (or confirm it in the dashboard; CI: put the line in $SSH_KNOWN_HOSTS).",
        )


class HostKeyChanged(RemoteError):
    """The server presented a key other than the one on record: possibly a man in the middle."""

    def __init__(self, host: str, fingerprint: str, key_type: str, known_in: str) -> None:
        self.fingerprint = fingerprint
        self.key_type = key_type
        super().__init__(
            host,
            f"HOST KEY CHANGED: the server now presents {key_type} {fingerprint}, which differs from the key "
            f"recorded in {known_in}. This could be an attack or a reinstalled server. Refusing to connect; if the "
            f"change is expected, remove the old entry (`ssh-keygen -R {host}`) and trust the new key.",
        )


class AuthenticationFailed(RemoteError):
    """The server refused every key we offered."""


class DockerUnavailable(RemoteError):
    """The docker socket on the host cannot be reached through the SSH connection."""


class CommandFailed(RemoteError):
    """A remote command exited non-zero."""

    def __init__(self, host: str, command: str, exit_status: int | None, output: str) -> None:
        self.command = command
        self.exit_status = exit_status
        self.output = output
        detail = output.strip().splitlines()[-1] if output.strip() else "no output"
        super().__init__(host, f"`{command}` failed (exit {exit_status}): {detail}")


def key_type_for_keyscan(key_type: str) -> str:
    """`ssh-ed25519` → `ed25519`, `ecdsa-sha2-nistp256` → `ecdsa`, `ssh-rsa` → `rsa`."""
    if key_type.startswith("ecdsa"):
        return "ecdsa"
    return key_type.removeprefix("ssh-")
