"""Recogniser 6: "target failed to become healthy" and its likely cause, from log lines and the config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.diagnose.healthcheck import listening, recognise_failed_health_check

from .diagnose_support import make_config

ERROR = "docker stderr: Error: target failed to become healthy within configured timeout (30s)"
PUMA = ["2026-03-01T12:00:01.123456789Z => Booting Puma", "2026-03-01T12:00:01.2Z * Puma version: 6.4.2",
        "2026-03-01T12:00:03.000000000Z * Listening on http://0.0.0.0:3000", "2026-03-01T12:00:03Z Use Ctrl-C to stop"]


def check_failed(error: str) -> str:
    return '{"time":"2026-03-01T12:00:05Z","level":"INFO","msg":"Healthcheck failed","error":"' + error + '"}'


def recognise(tmp_path: Path, app_lines, proxy_lines=(), proxy=None, **extra):
    config = make_config(tmp_path, proxy=proxy or {"app_port": 3000})
    return recognise_failed_health_check(ERROR, config=config, role=config.role("web"), host="web1",
                                         app_lines=list(app_lines), proxy_lines=list(proxy_lines),
                                         container="app-web-v1", **extra)


@pytest.mark.parametrize(("line", "host", "port"), [
    ("* Listening on http://0.0.0.0:3000", "0.0.0.0", 3000),
    ('{"time":"2026-03-01T12:00:02Z","level":"INFO","msg":"Server started","http":":80"}', None, 80),
    ("[2026-03-01 12:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:8000 (1)", "0.0.0.0", 8000),
    ("INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)", "127.0.0.1", 8000),
    (" * Running on http://127.0.0.1:5000", "127.0.0.1", 5000),
    ("Server listening on port 4000", None, 4000),
    ("Starting development server at http://0.0.0.0:8000/", "0.0.0.0", 8000),
])
def test_listening_lines(line: str, host: str | None, port: int) -> None:
    [found] = listening([line])
    assert (found.host, found.port) == (host, port)


def test_no_listen_claims_in_ordinary_lines() -> None:
    assert listening(["Migrating to CreateUsers (20260301120000)", "GET /up 12:00:01 200", "=> Booting Puma"]) == []


def test_force_ssl_redirect(tmp_path: Path) -> None:
    finding = recognise(tmp_path, PUMA, [check_failed("Unexpected status (301)")])
    assert finding.code == "healthcheck.force_ssl" and finding.host == "web1" and finding.target == "app-web-v1"
    assert "config.ssl_options" in finding.fix and '"/up"' in finding.fix
    assert "target failed to become healthy on web1 (role web, port 3000, path /up)" in finding.what
    assert PUMA[-1] in finding.evidence and check_failed("Unexpected status (301)") in finding.evidence
    https = recognise(tmp_path, PUMA, [check_failed('Get \\"https://172.18.0.5:3000/up\\": http: server gave HTTP '
                                                    'response to HTTPS client')])
    assert https.code == "healthcheck.force_ssl"


def test_wrong_app_port_and_loopback(tmp_path: Path) -> None:
    finding = recognise(tmp_path, PUMA, [check_failed("dial tcp 172.18.0.5:80: connect: connection refused")],
                        proxy={"app_port": 80})
    assert finding.code == "healthcheck.wrong_app_port" and "proxy: app_port: 3000" in finding.fix
    loopback = recognise(tmp_path, ["INFO:     Uvicorn running on http://127.0.0.1:3000 (Press CTRL+C to quit)"])
    assert loopback.code == "healthcheck.loopback_only" and "0.0.0.0" in loopback.fix


def test_nothing_listening_crash_and_blocked_host(tmp_path: Path) -> None:
    nothing = recognise(tmp_path, ["=> Booting Puma"], [check_failed("dial tcp 172.18.0.5:3000: connect: connection "
                                                                     "refused")])
    assert nothing.code == "healthcheck.not_listening" and "0.0.0.0:3000" in nothing.fix
    crashed = recognise(tmp_path, ["ActiveRecord::NoDatabaseError"], container_state="exited", exit_code=1)
    assert crashed.code == "healthcheck.crashed" and "exit code 1" in crashed.why
    blocked = recognise(tmp_path, [*PUMA, "[ActionDispatch::HostAuthorization::DefaultResponseApp] Blocked hosts: "
                                          "172.18.0.5:3000"], [check_failed("Unexpected status (403)")])
    assert blocked.code == "healthcheck.host_blocked" and "config.host_authorization" in blocked.fix


def test_slow_boot_wrong_path_and_app_error(tmp_path: Path) -> None:
    late = ["2026-03-01T12:00:00Z => Booting Puma", "2026-03-01T12:00:52Z * Listening on http://0.0.0.0:3000"]
    slow = recognise(tmp_path, late, [check_failed("dial tcp 172.18.0.5:3000: connect: connection refused")],
                     started_at=datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
    assert slow.code == "healthcheck.slow_boot" and "52s" in slow.title and "deploy_timeout: 104" in slow.fix
    timed_out = recognise(tmp_path, ["=> Booting Puma"], [check_failed("Request timed out")])
    assert timed_out.code == "healthcheck.slow_boot"
    missing = recognise(tmp_path, PUMA, [check_failed("Unexpected status (404)")],
                        proxy={"app_port": 3000, "healthcheck": {"path": "/health"}})
    assert missing.code == "healthcheck.wrong_path" and "/health" in missing.why
    failing = recognise(tmp_path, PUMA, [check_failed("Unexpected status (500)")])
    assert failing.code == "healthcheck.app_error"


def test_other_errors_are_not_health_checks(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert recognise_failed_health_check("manifest unknown", config=config, role=config.role("web"), host="web1",
                                         app_lines=PUMA) is None
    poller = recognise_failed_health_check("container not ready after 30 seconds (unhealthy)", config=config,
                                           role=config.role("web"), host="web1", app_lines=["booting"])
    assert poller is not None and poller.target == "the new web container"


def test_the_apps_own_request_log_gives_the_status_when_the_proxy_lines_are_missing(tmp_path: Path) -> None:
    rails = [*PUMA, '2026-03-01T12:00:04Z Started GET "/health" for 172.18.0.2',
             "2026-03-01T12:00:04Z Completed 404 Not Found in 0ms"]
    missing = recognise(tmp_path, rails, proxy={"app_port": 3000, "healthcheck": {"path": "/health"}})
    assert missing.code == "healthcheck.wrong_path"
    failing = recognise(tmp_path, [*PUMA, "Completed 500 Internal Server Error in 3ms"])
    assert failing.code == "healthcheck.app_error"
