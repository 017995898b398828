"""The kamal-proxy stand-in image on the real engine: targets resolved by container id on a user-defined
network, zero-downtime switches under a request loop, failed deploys, and routes that survive a restart."""

from __future__ import annotations

import http.client
import threading
import time

import pytest

from tests.images.http_support import get

from .conftest import Docker, docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# A tiny app: /up is healthy unless UNHEALTHY is set; every other path answers with NAME.
APP = """
import os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
NAME = os.environ["NAME"].encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        status = 503 if (self.path == "/up" and os.environ.get("UNHEALTHY")) else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(NAME)))
        self.end_headers()
        self.wfile.write(NAME)
s = ThreadingHTTPServer(("0.0.0.0", 80), H)
s.daemon_threads = True
s.serve_forever()
"""
# The flags Kamal 2.11 sends (kamal-interop.md §4.6), with short timeouts.
KAMAL_FLAGS = ["--deploy-timeout=10s", "--drain-timeout=5s", "--health-check-interval=1s",
               "--health-check-path=/up", "--buffer-requests", "--buffer-responses",
               "--log-request-header=Cache-Control", "--log-request-header=Last-Modified",
               "--log-request-header=User-Agent"]


def app(engine: Docker, network: str, name: str, *env: str) -> str:
    container = engine.run(f"app-{name}", "--network", network, "-e", f"NAME={name}", *env,
                           "shipdeck/demo-base:1", "python3", "-c", APP)
    return engine.short_id(container)


def kamal_proxy(engine: Docker, proxy: str, *args: str, check: bool = True):
    return docker("exec", proxy, "kamal-proxy", *args, check=check, timeout=60)


def test_image_is_what_kamal_expects(engine: Docker) -> None:
    new, old = engine.inspect("basecamp/kamal-proxy:v0.9.2"), engine.inspect("basecamp/kamal-proxy:v0.8.4")
    assert new["Id"] == old["Id"]
    config = new["Config"]
    assert config["Labels"]["org.opencontainers.image.title"] == "kamal-proxy"
    assert set(config["ExposedPorts"]) == {"80/tcp", "443/tcp"}
    assert config["Cmd"] == ["kamal-proxy", "run"]
    assert docker("run", "--rm", "--entrypoint", "ls", "basecamp/kamal-proxy:v0.9.2", "-d",
                  "/home/kamal-proxy/.config/kamal-proxy").returncode == 0


def test_deploys_switch_without_a_failed_request_and_survive_a_restart(engine: Docker) -> None:
    network = engine.network("kamal")
    config_volume = engine.volume("kamal-proxy-config")
    proxy = engine.run("kamal-proxy", "--network", network, "--publish", "127.0.0.1::80",
                       "--volume", f"{config_volume}:/home/kamal-proxy/.config/kamal-proxy",
                       "basecamp/kamal-proxy:v0.9.2")
    assert docker("inspect", proxy, "--format", "{{.Config.Image}}").stdout.strip().split(":")[-1] == "v0.9.2"
    engine.wait_for_log(proxy, "Server started")
    port = int(docker("port", proxy, "80").stdout.split(":")[-1])
    first = app(engine, network, "A")
    second = app(engine, network, "B")
    kamal_proxy(engine, proxy, "deploy", "demo-web", f"--target={first}:80", *KAMAL_FLAGS)
    assert get(port) == (200, "A")

    results: list[int | str] = []
    stop = threading.Event()

    def request_loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read().decode()
                results.append(body if response.status == 200 else response.status)
            except (OSError, http.client.HTTPException) as exc:
                results.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()

    loops = [threading.Thread(target=request_loop) for _ in range(2)]
    for loop in loops:
        loop.start()
    time.sleep(0.5)
    kamal_proxy(engine, proxy, "deploy", "demo-web", f"--target={second}:80", *KAMAL_FLAGS)
    docker("stop", engine.name("app-A"))  # what Kamal does once deploy returns
    time.sleep(0.5)
    third = app(engine, network, "C")
    kamal_proxy(engine, proxy, "deploy", "demo-web", f"--target={third}:80", *KAMAL_FLAGS)
    docker("stop", engine.name("app-B"))
    time.sleep(0.5)
    stop.set()
    for loop in loops:
        loop.join(15)
    failures = [r for r in results if r not in ("A", "B", "C")]
    assert failures == [], failures[:5]
    assert {"A", "B", "C"} <= set(results)
    assert results[-1] == "C" and len(results) > 50

    unhealthy = app(engine, network, "D", "-e", "UNHEALTHY=1")
    failed = kamal_proxy(engine, proxy, "deploy", "demo-web", f"--target={unhealthy}:80",
                         "--deploy-timeout=2s", "--health-check-interval=1s", check=False)
    assert failed.returncode != 0
    assert "target failed to become healthy within configured timeout (2s)" in failed.stderr
    assert "Healthcheck failed" in engine.logs(proxy)
    assert get(port) == (200, "C")

    assert engine.stop_seconds(proxy) < 1.0
    docker("start", proxy)
    engine.wait_for_log(proxy, "Server started", count=2)
    port = int(docker("port", proxy, "80").stdout.split(":")[-1])
    assert get(port) == (200, "C")
    listing = kamal_proxy(engine, proxy, "list").stdout.splitlines()
    assert listing[1].split()[:5] == ["demo-web", "*", "/", f"{third}:80", "running"]
    kamal_proxy(engine, proxy, "stop", "demo-web", "--message=upgrading", "--drain-timeout=1s")
    status, body = get(port)
    assert status == 503 and "upgrading" in body
    kamal_proxy(engine, proxy, "resume", "demo-web")
    kamal_proxy(engine, proxy, "remove", "demo-web")
    assert get(port)[0] == 404
