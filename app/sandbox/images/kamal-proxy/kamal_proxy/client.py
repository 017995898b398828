"""The CLI's side of the control socket: one JSON request line, one JSON answer line.

Kept apart from the server so that `kamal-proxy deploy|remove|list...` imports almost nothing and
starts about as fast as the real (Go) binary's client does.
"""

from __future__ import annotations

import json
import os
import socket


class ProxyError(Exception):
    """A command failed; the message is shown to the CLI user as `Error: <message>`."""


def socket_path() -> str:
    if os.environ.get("KAMAL_PROXY_SOCKET"):
        return os.environ["KAMAL_PROXY_SOCKET"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "kamal-proxy.sock")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", "kamal-proxy.sock")  # Go's os.TempDir()


def call(method: str, params: dict[str, object], path: str | os.PathLike | None = None) -> object:
    """Send one command to the running server and wait for its answer (blocking, for the CLI)."""
    path = path or socket_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError as exc:
            reason = "no such file or directory" if isinstance(exc, FileNotFoundError) else exc.strerror
            raise ProxyError(f"dial unix {path}: connect: {reason}") from None
        sock.sendall((json.dumps({"method": method, "params": params}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    if not data:
        raise ProxyError("the server closed the connection without answering")
    answer = json.loads(data)
    if not answer.get("ok"):
        raise ProxyError(answer.get("error", "unknown error"))
    return answer.get("result")
