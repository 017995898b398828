"""Recogniser 6: "target failed to become healthy" — the likely cause, from the new container's last log
lines, kamal-proxy's health-check lines and the config.

kamal-proxy checks `GET http://<container>:<app_port><healthcheck path>` (default `/up`) with Go's HTTP
client, which follows redirects, and logs each failure as `Healthcheck failed` with an error such as
`Unexpected status (301)`, `Request timed out` or `dial tcp ...: connect: connection refused`. Kamal
gives up after `deploy_timeout` seconds (30 by default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.config.model import Config, Role
from app.diagnose.findings import Finding

FAILED = re.compile(r"target failed to become healthy|container not ready after \d+ seconds")
DEFAULT_HEALTHCHECK_PATH = "/up"
_TIMESTAMP = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
                        r"(?P<zone>Z|[+-]\d{2}:\d{2})\s")
_LISTEN_WORDS = re.compile(r"listen|running on|serving|server started|started server|bound to|development server"
                           r"|http server|web server", re.IGNORECASE)
_URL_PORT = re.compile(r"(?:https?|tcp)://(?P<host>\[[^\]]*\]|[^/:\s\"']+):(?P<port>\d{1,5})")
_WORD_PORT = re.compile(r"\bport\s*[:=]?\s*(?P<port>\d{1,5})\b", re.IGNORECASE)
_BARE_PORT = re.compile(r"(?:^|[\s\"'=(])(?P<host>0\.0\.0\.0|127\.0\.0\.1|localhost|\[::1?\]|\*)?:(?P<port>\d{2,5})"
                        r"(?=[\s\"',)]|$)")
_CHECK_FAILED = re.compile(r"Healthcheck failed", re.IGNORECASE)
# A request log line with its status: Rails' `Completed 404 Not Found in 0ms`
_APP_COMPLETED = re.compile(r"\bCompleted (\d{3})\b")
_STATUS = re.compile(r"Unexpected status \((?P<status>\d{3})\)|\bstatus[ =:]+(?P<bare>\d{3})\b", re.IGNORECASE)
_REFUSED = re.compile(r"connection refused", re.IGNORECASE)
_TIMED_OUT = re.compile(r"Request timed out|context deadline exceeded|i/o timeout", re.IGNORECASE)
_TLS_TO_HTTP = re.compile(r"server gave HTTP response to HTTPS client")
_HOST_BLOCKED = re.compile(r"Blocked hosts?:|Invalid HTTP_HOST header|DisallowedHost")
_REDIRECT_IN_APP = re.compile(r"Redirected to https://|\b30[1278] Moved|\b30[1278]\b.*https://")
_LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
_CRASHED_STATES = {"exited", "dead", "restarting"}
_EVIDENCE_LINES = 10


@dataclass(frozen=True)
class Listening:
    host: str | None
    port: int
    at: datetime | None
    line: str


def _timestamp(line: str) -> datetime | None:
    found = _TIMESTAMP.match(line)
    if not found:
        return None
    fraction = (found["fraction"] or "")[:6]
    zone = "+00:00" if found["zone"] == "Z" else found["zone"]
    return datetime.fromisoformat(found["stamp"] + (f".{fraction.ljust(6, '0')}" if fraction else "") + zone)


def listening(lines: Sequence[str]) -> list[Listening]:
    """Where the app says it listens (Puma, Thruster, Gunicorn, Uvicorn, Node, Django, Flask...)."""
    found = []
    for line in lines:
        text = _TIMESTAMP.sub("", line, count=1)
        if not _LISTEN_WORDS.search(text):
            continue
        match = _URL_PORT.search(text) or _WORD_PORT.search(text) or _BARE_PORT.search(text)
        if match:
            host = match.groupdict().get("host")
            found.append(Listening(host, int(match["port"]), _timestamp(line), line))
    return found


@dataclass(frozen=True)
class Cause:
    code: str
    summary: str
    why: str
    fix: str


def _app_port(role: Role) -> int:
    return role.proxy.app_port if role.proxy else 80


def _path(role: Role) -> str:
    return (role.proxy.healthcheck_path if role.proxy else None) or DEFAULT_HEALTHCHECK_PATH


def _redirect(role: Role) -> Cause:
    return Cause(
        "force_ssl", f"{_path(role)} answers with a redirect to https",
        why="kamal-proxy checks the container over plain HTTP without the X-Forwarded-Proto header, so an app "
            "that forces SSL (Rails config.force_ssl) redirects the check to https, which the container does "
            "not speak.",
        fix=f"Exclude the health check from the redirect, e.g. in Rails config.ssl_options = {{ redirect: "
            f"{{ exclude: ->(request) {{ request.path == \"{_path(role)}\" }} }} }} (with config.assume_ssl = "
            "true behind the proxy).")


def _cause(config: Config, role: Role, app_lines: Sequence[str], proxy_lines: Sequence[str],
           container_state: str | None, exit_code: int | None, started_at: datetime | None) -> Cause:
    port, path = _app_port(role), _path(role)
    if (container_state in _CRASHED_STATES) or (exit_code not in (None, 0)):
        return Cause("crashed", "the new container stopped during boot",
                     why=f"The container is {container_state or 'stopped'}"
                         + (f" with exit code {exit_code}" if exit_code is not None else "")
                         + ": the app failed before it could answer the health check.",
                     fix="Read the last log lines below for the error; `shipdeck app logs` shows more.")
    checks = [line for line in proxy_lines if _CHECK_FAILED.search(line)]
    statuses = [int(found["status"] or found["bare"]) for line in checks for found in _STATUS.finditer(line)]
    if not statuses:  # a new container gets no traffic before it is healthy: its requests are the checks
        statuses = [int(status) for line in app_lines for status in _APP_COMPLETED.findall(line)]
    if any(_HOST_BLOCKED.search(line) for line in app_lines) or 403 in statuses:
        return Cause("host_blocked", "the app rejects the health check's Host header",
                     why="kamal-proxy sends the container's address as the Host header; the app's host "
                         "allow-list (Rails config.hosts, Django ALLOWED_HOSTS) refuses it.",
                     fix=f"Exempt {path} from host checking, e.g. in Rails config.host_authorization = "
                         f"{{ exclude: ->(request) {{ request.path == \"{path}\" }} }}.")
    if any(status in (301, 302, 307, 308) for status in statuses) \
            or any(_TLS_TO_HTTP.search(line) for line in checks) \
            or any(_REDIRECT_IN_APP.search(line) for line in app_lines):
        return _redirect(role)
    ports = listening(app_lines)
    if ports and all(item.host in _LOOPBACK for item in ports):
        return Cause("loopback_only", f"the app listens on {ports[-1].host} only",
                     why="A server bound to loopback inside the container cannot be reached by kamal-proxy.",
                     fix=f"Bind the server to 0.0.0.0 (all interfaces) on port {port}.")
    if ports and port not in {item.port for item in ports}:
        seen = sorted({item.port for item in ports})
        return Cause("wrong_app_port", f"the app listens on {', '.join(map(str, seen))}, not on app_port {port}",
                     why=f"kamal-proxy checks port {port} (proxy app_port), where nothing answers.",
                     fix=f"Set proxy: app_port: {seen[0]} in config/deploy.yml, or make the app listen on {port}.")
    if 404 in statuses:
        return Cause("wrong_path", f"the app answers {path} with 404",
                     why=f"kamal-proxy checks {path}, which the app does not serve.",
                     fix=f"Serve {path} with a 200, or set proxy: healthcheck: path: to a path that answers 200.")
    if any(500 <= status < 600 for status in statuses):
        return Cause("app_error", f"the app answers {path} with a server error",
                     why="The app runs but its health endpoint fails (often the database or a missing secret).",
                     fix="Read the last log lines below for the error.")
    booted = next((item.at for item in ports if item.at), None)
    if started_at and booted and (booted - started_at).total_seconds() > config.deploy_timeout:
        took = int((booted - started_at).total_seconds())
        return Cause("slow_boot", f"the app took {took}s to listen, longer than deploy_timeout",
                     why=f"Kamal waits deploy_timeout ({config.deploy_timeout}s) for the new container.",
                     fix=f"Set deploy_timeout: {max(took * 2, config.deploy_timeout + 30)} in config/deploy.yml, "
                         "or make the boot faster (e.g. run migrations in a hook).")
    if ports:
        return Cause("slow_or_unknown", "the app listens, but the checks failed",
                     why=f"The app reported listening on {port}; its checks may have started passing only after "
                         f"deploy_timeout ({config.deploy_timeout}s).",
                     fix=f"Check that GET {path} answers 200 quickly inside the container; if the boot is slow, raise "
                         "deploy_timeout in config/deploy.yml.")
    if any(_REFUSED.search(line) for line in checks) or not any(_TIMED_OUT.search(line) for line in checks):
        return Cause("not_listening", f"nothing listens on port {port}",
                     why=f"kamal-proxy's connections to port {port} (proxy app_port) were refused, or the app never "
                         f"said it was listening within deploy_timeout ({config.deploy_timeout}s).",
                     fix=f"Make the app's server listen on 0.0.0.0:{port} (or set proxy: app_port: to its port); "
                         "if it is still booting, raise deploy_timeout.")
    return Cause("slow_boot", "the app did not answer in time",
                 why=f"The health checks timed out; the app did not answer {path} within deploy_timeout "
                     f"({config.deploy_timeout}s).",
                 fix="Raise deploy_timeout in config/deploy.yml, or make the boot faster.")


def recognise_failed_health_check(error_text: str, *, config: Config, role: Role, host: str,
                                  app_lines: Sequence[str], proxy_lines: Sequence[str] = (),
                                  container: str | None = None, container_state: str | None = None,
                                  exit_code: int | None = None, started_at: datetime | None = None) -> Finding | None:
    """`app_lines`: the new container's last log lines (with `docker logs --timestamps` prefixes if known);
    `proxy_lines`: kamal-proxy's lines for the same deploy; `container_state`/`exit_code` from inspect."""
    if not FAILED.search(error_text):
        return None
    cause = _cause(config, role, app_lines, proxy_lines, container_state, exit_code, started_at)
    name = container or f"the new {role.name} container"
    proxy_evidence = tuple(line for line in proxy_lines if _CHECK_FAILED.search(line))[-3:]
    return Finding(
        code=f"healthcheck.{cause.code}", title=f"{name} on {host} did not become healthy: {cause.summary}",
        what=f"{FAILED.search(error_text).group(0)} on {host} (role {role.name}, port {_app_port(role)}, "
             f"path {_path(role)}).",
        why=cause.why, fix=cause.fix, host=host, target=name,
        evidence=tuple(app_lines[-_EVIDENCE_LINES:]) + proxy_evidence)
