"""The kamal-proxy stand-in run in-process against real local HTTP backends: deploy, health checks,
the atomic switch with draining, maintenance, routing errors, streaming and the state file."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PROXY_SOURCE = Path(__file__).resolve().parents[2] / "app" / "sandbox" / "images" / "kamal-proxy"
if str(PROXY_SOURCE) not in sys.path:
    sys.path.insert(0, str(PROXY_SOURCE))
server_module = importlib.import_module("kamal_proxy.server")
control = importlib.import_module("kamal_proxy.control")
cli = importlib.import_module("kamal_proxy.cli")
router_module = importlib.import_module("kamal_proxy.router")
logs = importlib.import_module("kamal_proxy.logs")


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict]]:
    """The proxy's JSON log lines, kept in memory instead of on stdout."""
    records: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(logs, "_emit", lambda level, msg, attrs: records.append((level, msg, attrs)))
    return records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # e.g. the proxy hanging up on a target that took too long


class Backend:
    """A small HTTP/1.1 app: `/up` (switchable), `/name`, `/slow?seconds`, `/echo`, `/stream`."""

    def __init__(self, name: str, healthy: bool = True) -> None:
        self.name = name
        self.healthy = healthy
        self.health_checks: list[str] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/up":
                    backend.health_checks.append(self.headers.get("User-Agent", ""))
                    self._reply(200 if backend.healthy else 503, b"up" if backend.healthy else b"down")
                elif path == "/slow":
                    time.sleep(float(query or "0.5"))
                    self._reply(200, backend.name.encode())
                elif path == "/stream":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for index in range(3):
                        piece = f"{backend.name}-{index};".encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                elif path == "/headers":
                    self._reply(200, json.dumps({**dict(self.headers.items()), "path": self.path}).encode(),
                                "application/json")
                else:
                    self._reply(200, f"{backend.name} {self.path}".encode())

            def do_POST(self) -> None:
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._reply(200, backend.name.encode() + b":" + body)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RunningProxy:
    """`kamal-proxy run` on its own event loop in a thread, with a private state file and socket."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.http_port = free_port()
        self.https_port = free_port()
        self.socket = tmp / "kamal-proxy.sock"
        self.state = tmp / "state" / "kamal-proxy.state"
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        """Ready is when the control socket answers a command (it opens after the HTTP listeners).

        The socket's path exists from its bind() on, a moment before listen(): a connect then is refused.
        """
        deadline = time.monotonic() + 5
        while True:
            try:
                self.command("list")
                return
            except control.ProxyError as refused:
                assert self.thread.is_alive(), "the proxy stopped while starting"
                assert time.monotonic() < deadline, f"the proxy did not answer within 5 s: {refused}"
            time.sleep(0.01)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop_event = asyncio.Event()
            flags = {"http-port": self.http_port, "https-port": self.https_port, "debug": False}
            await server_module.serve(flags, stop=self.stop_event, state=self.state, control_path=self.socket,
                                      handle_signals=False)

        self.loop.run_until_complete(main())

    def command(self, method: str, service: str = "", **flags: Any) -> Any:
        return control.call(method, {"service": service, "flags": flags}, path=self.socket)

    def deploy(self, service: str, *targets: str, **flags: Any) -> None:
        defaults = {"deploy-timeout": 5.0, "drain-timeout": 5.0, "health-check-interval": 0.1,
                    "health-check-timeout": 1.0}
        self.command("deploy", service, target=list(targets), **{**defaults, **flags})

    def get(self, path: str, host: str = "localhost", port: int | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.http_port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(5)
        assert not self.thread.is_alive(), "the proxy did not stop"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RunningProxy]:
    running = RunningProxy(tmp_path)
    yield running
    if running.thread.is_alive():
        running.stop()


@pytest.fixture
def backends() -> Iterator[dict[str, Backend]]:
    made: dict[str, Backend] = {}
    yield made
    for backend in made.values():
        backend.close()


def test_deploy_health_checks_then_proxies_over_keep_alive(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("web", backends["a"].address)
    assert backends["a"].health_checks and set(backends["a"].health_checks) == {"kamal-proxy"}
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=5)
    for index in range(3):  # three requests, one client connection
        conn.request("GET", f"/hello/{index}", headers={"Host": "anything.test"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, f"A /hello/{index}".encode())
    conn.close()
    assert proxy.get("/x", port=proxy.https_port) == (200, b"A /x")  # 443 serves plain HTTP without certs


def test_forwarded_headers_and_path_prefix_stripping(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("api", backends["a"].address, **{"path-prefix": ["/api"]})
    status, body = proxy.get("/api/headers?q=1", host="shop.test")
    seen = json.loads(body)
    assert status == 200
    assert seen["path"] == "/headers?q=1"
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["X-Forwarded-Host"] == "shop.test"
    assert proxy.get("/other")[0] == 404


def test_failed_health_checks_fail_the_deploy_and_keep_the_old_target(proxy: RunningProxy, backends: dict,
                                                                       quiet_logs: list) -> None:
    backends["a"] = Backend("A")
    backends["bad"] = Backend("BAD", healthy=False)
    proxy.deploy("web", backends["a"].address)
    began = time.monotonic()
    with pytest.raises(router_module.ProxyError,
                       match=r"^target failed to become healthy within configured timeout \(1s\)$"):
        proxy.deploy("web", backends["bad"].address, **{"deploy-timeout": 1.0})
    assert 0.9 < time.monotonic() - began < 3
    assert len(backends["bad"].health_checks) >= 5  # first at once, then every 0.1s
    assert any(msg == "Healthcheck failed" and attrs["error"] == "status 503" for _, msg, attrs in quiet_logs)
    assert proxy.get("/still") == (200, b"A /still")


def test_switch_is_atomic_and_drains_in_flight_requests(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    backends["b"] = Backend("B")
    proxy.deploy("web", backends["a"].address)
    results: list[tuple[int, bytes]] = []
    stop = threading.Event()

    def loop() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
        while not stop.is_set():
            try:
                conn.request("GET", "/name")
                response = conn.getresponse()
                results.append((response.status, response.read()))
            except (OSError, http.client.HTTPException) as exc:
                results.append((0, repr(exc).encode()))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
        conn.close()

    slow: dict[str, Any] = {}

    def slow_request() -> None:
        slow["result"] = proxy.get("/slow?0.8")
        slow["finished"] = time.monotonic()

    workers = [threading.Thread(target=loop) for _ in range(3)]
    for worker in workers:
        worker.start()
    slow_thread = threading.Thread(target=slow_request)
    slow_thread.start()
    time.sleep(0.2)
    switch_started = time.monotonic()
    proxy.deploy("web", backends["b"].address)
    deploy_returned = time.monotonic()
    proxy.deploy("web", backends["a"].address)
    proxy.deploy("web", backends["b"].address)
    time.sleep(0.2)
    stop.set()
    for worker in [*workers, slow_thread]:
        worker.join(10)
    assert slow["result"] == (200, b"A")  # started on A before the switch, completed by the drain
    # The deploy waited for the in-flight request (0.8 s, begun 0.2 s before the switch) to finish...
    assert deploy_returned - switch_started >= 0.5
    # ...and returned once it had: the client read its answer no later than that (allowing for thread wake-up).
    assert slow["finished"] <= deploy_returned + 0.05
    failures = [r for r in results if r[0] != 200]
    assert failures == []
    names = {body.split()[0] for _, body in results}
    assert names == {b"A", b"B"}
    assert results[-1][1].startswith(b"B")


def test_target_down_is_502_and_no_service_is_404(proxy: RunningProxy, backends: dict) -> None:
    assert proxy.get("/")[0] == 404
    dead = f"127.0.0.1:{free_port()}"
    proxy.deploy("web", dead, force=True)
    status, body = proxy.get("/")
    assert status == 502 and b"Bad Gateway" in body


def test_hosts_route_and_conflict(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    backends["b"] = Backend("B")
    proxy.deploy("one", backends["a"].address, host=["one.test"])
    proxy.deploy("two", backends["b"].address, host=["two.test"])
    assert proxy.get("/", host="one.test")[1] == b"A /"
    assert proxy.get("/", host="two.test:80")[1] == b"B /"
    assert proxy.get("/", host="three.test")[0] == 404
    with pytest.raises(router_module.ProxyError, match=r"^host settings conflict with another service$"):
        proxy.deploy("three", backends["b"].address, host=["one.test"])


def test_stop_serves_maintenance_and_resume_restores(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("web", backends["a"].address)
    proxy.command("stop", "web", message="Back at five", **{"drain-timeout": 1.0})
    status, body = proxy.get("/")
    assert status == 503 and b"Back at five" in body
    proxy.command("resume", "web")
    assert proxy.get("/") == (200, b"A /")
    proxy.command("remove", "web")
    assert proxy.get("/")[0] == 404
    with pytest.raises(router_module.ProxyError, match="service not found"):
        proxy.command("remove", "web")


def test_pause_holds_requests_until_resume(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("web", backends["a"].address)
    proxy.command("pause", "web", **{"drain-timeout": 1.0, "max-pause": 5.0})
    held: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: held.update(result=proxy.get("/p")))
    thread.start()
    time.sleep(0.3)
    assert "result" not in held
    proxy.command("resume", "web")
    thread.join(5)
    assert held["result"] == (200, b"A /p")


def test_streaming_and_request_bodies(proxy: RunningProxy, backends: dict) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("web", backends["a"].address)
    assert proxy.get("/stream") == (200, b"A-0;A-1;A-2;")
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=5)
    conn.request("POST", "/in", body=b"x" * 100_000)
    response = conn.getresponse()
    assert response.read() == b"A:" + b"x" * 100_000
    conn.request("POST", "/in", body=iter([b"chunk1", b"chunk2"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    assert conn.getresponse().read() == b"A:chunk1chunk2"
    conn.close()


def test_state_is_saved_and_restored_by_a_new_server(tmp_path: Path, backends: dict) -> None:
    backends["a"] = Backend("A")
    first = RunningProxy(tmp_path)
    first.deploy("web", backends["a"].address, host=["a.test"])
    first.command("stop", "web", message="maint", **{"drain-timeout": 0.5})
    first.stop()
    saved = json.loads(first.state.read_text())
    assert [s["name"] for s in saved["services"]] == ["web"]
    second = RunningProxy(tmp_path)
    try:
        assert second.get("/", host="a.test")[0] == 503
        second.command("resume", "web")
        assert second.get("/", host="a.test") == (200, b"A /")
    finally:
        second.stop()


def test_list_prints_a_table(proxy: RunningProxy, backends: dict, capsys: pytest.CaptureFixture,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("web", backends["a"].address)
    monkeypatch.setenv("KAMAL_PROXY_SOCKET", str(proxy.socket))
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Service", "Host", "Path", "Target", "State", "TLS"]
    assert lines[1].split() == ["web", "*", "/", backends["a"].address, "running", "no"]
    assert cli.main(["deploy", "web", "--bogus"]) == 1
    assert "Error: unknown flag: --bogus" in capsys.readouterr().err


def test_cli_without_a_server_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("KAMAL_PROXY_SOCKET", str(tmp_path / "none.sock"))
    assert cli.main(["remove", "web"]) == 1
    assert "connect: no such file or directory" in capsys.readouterr().err


def test_stop_is_prompt_with_open_connections(tmp_path: Path, backends: dict) -> None:
    backends["a"] = Backend("A")
    running = RunningProxy(tmp_path)
    running.deploy("web", backends["a"].address)
    idle = socket.create_connection(("127.0.0.1", running.http_port))
    with contextlib.closing(idle):
        began = time.monotonic()
        running.stop()
        assert time.monotonic() - began < 1.0


def test_custom_certificates_serve_tls_and_plain_http_redirects(proxy: RunningProxy, backends: dict,
                                                                tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=secure.test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    backends["a"] = Backend("A")
    proxy.deploy("secure", backends["a"].address, host=["secure.test"], tls=True,
                 **{"tls-certificate-path": str(cert), "tls-private-key-path": str(key)})
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False  # the self-signed certificate names secure.test, we dial 127.0.0.1
    conn = http.client.HTTPSConnection("127.0.0.1", proxy.https_port, timeout=5, context=context)
    conn.request("GET", "/headers", headers={"Host": "secure.test"})
    response = conn.getresponse()
    seen = json.loads(response.read())
    conn.close()
    assert response.status == 200 and seen["X-Forwarded-Proto"] == "https"
    conn = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=5)
    conn.request("GET", "/x?y=1", headers={"Host": "secure.test"})
    response = conn.getresponse()
    assert (response.status, response.getheader("Location")) == (301, "https://secure.test/x?y=1")
    conn.close()


def test_tls_without_a_certificate_serves_plain_http(proxy: RunningProxy, backends: dict, quiet_logs: list) -> None:
    backends["a"] = Backend("A")
    proxy.deploy("auto", backends["a"].address, host=["auto.test"], tls=True)
    assert proxy.get("/", host="auto.test") == (200, b"A /")
    assert any(level == "WARN" and "Automatic TLS" in msg for level, msg, _ in quiet_logs)


def test_several_targets_share_the_load_and_slow_targets_time_out(proxy: RunningProxy, backends: dict) -> None:
    backends["a"], backends["b"] = Backend("A"), Backend("B")
    proxy.deploy("web", backends["a"].address, backends["b"].address, **{"target-timeout": 0.5})
    seen = {proxy.get("/n")[1] for _ in range(4)}
    assert seen == {b"A /n", b"B /n"}
    began = time.monotonic()
    assert proxy.get("/slow?2")[0] == 504
    assert time.monotonic() - began < 1.5
