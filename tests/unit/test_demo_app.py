"""The demo app's pure parts and its web role in-process (no database: the error path)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer

import pytest

from app.sandbox.demoapp.demo import jobqueue, railslog, settings, web


def test_settings_from_the_deploy_environment() -> None:
    env = {"KAMAL_VERSION": "abc123", "KAMAL_HOST": "10.77.0.11", "POSTGRES_PASSWORD": "it's \\ secret",
           "DB_HOST": "demo-db", "REDIS_URL": "redis://demo-redis:6379/0", "BOOT_DELAY": "0.5"}
    s = settings.from_env(env)
    assert (s.version, s.host, s.port, s.boot_delay, s.fail_healthcheck) == ("abc123", "10.77.0.11", 80, 0.5, False)
    assert s.database_dsn == ("host='demo-db' port='5432' user='postgres' password='it\\'s \\\\ secret' "
                              "dbname='postgres' connect_timeout='3'")
    assert settings.from_env({"APP_VERSION": "v2"}).version == "v2"
    assert settings.from_env({}).database_dsn is None
    assert settings.from_env({}).database_host == "demo-db"
    assert settings.from_env({"DATABASE_URL": "postgres://u:p@h/d", "POSTGRES_PASSWORD": "x"}).database_dsn == (
        "postgres://u:p@h/d")
    assert settings.from_env({"FAIL_HEALTHCHECK": "1"}).fail_healthcheck
    assert not settings.from_env({"FAIL_HEALTHCHECK": ""}).fail_healthcheck
    assert settings.redact_url("redis://:pw@demo-redis:6379/0") == "redis://demo-redis:6379/0"


def test_log_lines_look_like_rails() -> None:
    moment = datetime(2025, 5, 1, 12, 30, 5, tzinfo=UTC)
    assert railslog.started("r1", "GET", "/", "10.0.0.9", moment) == (
        '[r1] Started GET "/" for 10.0.0.9 at 2025-05-01 12:30:05 +0000')
    assert railslog.completed("r1", 200, 4.6, 1.25) == "[r1] Completed 200 OK in 5ms (ActiveRecord: 1.2ms)"
    assert railslog.completed("r1", 500, 12) == "[r1] Completed 500 Internal Server Error in 12ms"
    assert railslog.job_performed("j-1", 2.2) == "[ActiveJob] Performed DemoJob (Job ID: j-1) in 2ms"
    assert railslog.error("r1", "E", "line one\nline two\n") == "[r1] E (line one line two)"


def test_job_payloads_round_trip_and_reject_garbage() -> None:
    job = jobqueue.new_job("web")
    assert jobqueue.decode(jobqueue.encode(job)) == job
    with pytest.raises(ValueError):
        jobqueue.decode(b'{"job_class": "Other", "job_id": "x"}')


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    lines: list[str] = []
    monkeypatch.setattr(railslog, "emit", lines.append)
    servers: list[ThreadingHTTPServer] = []

    def start(env: dict[str, str]) -> tuple[int, list[str]]:
        app = web.App(settings.from_env({"REDIS_URL": "redis://127.0.0.1:1/0", **env}))
        server = ThreadingHTTPServer(("127.0.0.1", 0), web.make_handler(app))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], lines

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    result = response.status, response.read().decode()
    conn.close()
    return result


def test_up_waits_for_the_boot_delay(serve) -> None:
    port, lines = serve({"BOOT_DELAY": "0.4", "KAMAL_VERSION": "v9"})
    assert get(port, "/up")[0] == 503
    time.sleep(0.5)
    assert get(port, "/up")[0] == 200
    assert get(port, "/version") == (200, "v9\n")
    assert not any("/up" in line for line in lines)  # health checks are not logged, like Rails 8


def test_fail_healthcheck_never_turns_healthy(serve) -> None:
    port, _ = serve({"BOOT_DELAY": "0", "FAIL_HEALTHCHECK": "1"})
    assert get(port, "/up")[0] == 500


def test_index_without_a_database_is_a_logged_500(serve) -> None:
    port, lines = serve({"BOOT_DELAY": "0"})
    status, _ = get(port, "/", {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert status == 500
    assert any('Started GET "/" for 203.0.113.7 at ' in line for line in lines)
    assert any(line.endswith("Processing by PagesController#index as HTML") for line in lines)
    assert any("Completed 500 Internal Server Error in" in line for line in lines)
    assert any("ActiveRecord::ConnectionNotEstablished (no database configured" in line for line in lines)
