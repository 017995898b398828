"""redis:7: Debian's redis-server, reachable from other containers, data in /data, quick to stop."""

from __future__ import annotations

import pytest

from .conftest import Docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_serves_the_network_persists_and_stops_promptly(engine: Docker) -> None:
    network = engine.network()
    volume = engine.volume("redisdata")
    redis = engine.run("redis", "--network", network, "-v", f"{volume}:/data", "redis:7")
    engine.wait_for_log(redis, "Ready to accept connections")
    client = engine.run("client", "--network", network, "--entrypoint", "sleep", "redis:7", "60")
    assert engine.exec(client, "redis-cli", "-h", redis, "SET", "greeting", "hello").stdout.strip() == "OK"
    assert engine.exec(client, "redis-cli", "-h", redis, "CONFIG", "GET", "protected-mode").stdout.split() == [
        "protected-mode", "no"]
    assert engine.exec(redis, "ps", "-o", "user=", "-p", "1").stdout.strip() == "redis"
    assert engine.stop_seconds(redis) < 1.0
    assert engine.inspect(redis)["State"]["ExitCode"] == 0
    again = engine.run("redis2", "--network", network, "-v", f"{volume}:/data", "redis:7")
    engine.wait_for_log(again, "Ready to accept connections")
    assert engine.exec(client, "redis-cli", "-h", again, "GET", "greeting").stdout.strip() == "hello"
    version = engine.exec(again, "redis-server", "--version").stdout
    assert "v=7." in version
