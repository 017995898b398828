"""A recording proxy in front of the machine's docker socket: shows what a docker CLI really sends."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
from dataclasses import dataclass, field

ENGINE_SOCKET = "/var/run/docker.sock"


@dataclass
class Request:
    line: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class RecordingProxy:
    """Use as a context manager; point `DOCKER_HOST` at `url` and read `requests()` afterwards."""

    upstream: str = ENGINE_SOCKET
    _streams: list[list[bytes]] = field(default_factory=list)

    def __enter__(self) -> RecordingProxy:
        self._dir = tempfile.mkdtemp(prefix="shipdeck-capture-")
        self.path = os.path.join(self._dir, "docker.sock")
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(self.path)
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.close()
        os.unlink(self.path)
        os.rmdir(self._dir)

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX)
            engine.connect(self.upstream)
            recorded: list[bytes] = []
            self._streams.append(recorded)
            threading.Thread(target=_pump, args=(client, engine, recorded), daemon=True).start()
            threading.Thread(target=_pump, args=(engine, client, None), daemon=True).start()

    def requests(self) -> list[Request]:
        found = []
        for stream in self._streams:
            found.extend(_parse_requests(b"".join(stream)))
        return found

    def create_body(self) -> dict:
        """The JSON body of the one `POST .../containers/create` recorded."""
        bodies = [r.json for r in self.requests() if "/containers/create" in r.line]
        assert len(bodies) == 1, f"expected one create request, saw {len(bodies)}"
        return bodies[0]


def _pump(source: socket.socket, target: socket.socket, recorded: list[bytes] | None) -> None:
    try:
        while data := source.recv(65536):
            if recorded is not None:
                recorded.append(data)
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def _parse_requests(raw: bytes) -> list[Request]:
    requests = []
    while raw:
        head, separator, rest = raw.partition(b"\r\n\r\n")
        if not separator:
            break
        lines = head.decode(errors="replace").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
        requests.append(Request(lines[0], headers, rest[:length]))
        raw = rest[length:]
    return requests
