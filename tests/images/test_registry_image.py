"""registry:3 (the sandbox's stand-in: Debian's docker-registry 2.8): plain HTTP on :5000, no login,
storage in /var/lib/registry; this machine's engine pushes to it on loopback and pulls it back."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from .conftest import Docker, docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _v2_status(port: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as reply:
                return reply.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serves_plain_http_without_login_and_round_trips_an_image(engine: Docker) -> None:
    port = _free_port()
    registry = engine.run("registry", "-p", f"127.0.0.1:{port}:5000", "registry:3")
    assert _v2_status(port) == 200
    image = f"localhost:{port}/shipdeck-test/redis:{engine.suffix}"
    try:
        docker("tag", "redis:7", image)
        docker("push", image, timeout=300)
        docker("rmi", image)
        docker("pull", image, timeout=300)
        stored = engine.exec(registry, "ls", "/var/lib/registry/docker/registry/v2/repositories/shipdeck-test")
        assert stored.stdout.split() == ["redis"]
    finally:
        docker("rmi", image, check=False)
