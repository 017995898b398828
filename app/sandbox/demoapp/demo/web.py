"""The web role: an HTTP/1.1 server on port 80 with `/up`, `/`, and `/version`.

`/up` answers 200 once the boot delay has passed (never with FAIL_HEALTHCHECK=1); `/` writes and
reads a row in Postgres and enqueues a DemoJob in Redis. Requests are logged like Rails.
"""

from __future__ import annotations

import html
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import jobqueue, railslog
from .settings import Settings, from_env, redact_url

SCHEMA = ("CREATE TABLE IF NOT EXISTS visits (id bigserial PRIMARY KEY, "
          "at timestamptz NOT NULL DEFAULT now(), version text NOT NULL, host text NOT NULL)")
INSERT = "INSERT INTO visits (version, host) VALUES (%s, %s)"
_schema_lock = threading.Lock()
_schema_ready = False


def record_visit(settings: Settings) -> int:
    """Insert a visit row and return how many there are. Raises the driver's error on failure."""
    global _schema_ready
    if settings.database_dsn is None:
        raise RuntimeError("no database configured: set DATABASE_URL or POSTGRES_PASSWORD")
    import psycopg2  # Debian's python3-psycopg2, present in the image only

    conn = psycopg2.connect(settings.database_dsn)
    try:
        with conn, conn.cursor() as cur:
            if not _schema_ready:
                with _schema_lock:
                    cur.execute("SELECT pg_advisory_xact_lock(4242)")
                    cur.execute(SCHEMA)
                    _schema_ready = True
            cur.execute(INSERT, (settings.version, settings.host))
            cur.execute("SELECT count(*) FROM visits")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def client_ip(forwarded_for: str | None, peer: str) -> str:
    if forwarded_for:
        return forwarded_for.split(",")[0].strip() or peer
    return peer


class App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.monotonic()
        self._redis: Any = None

    @property
    def booted(self) -> bool:
        return time.monotonic() - self.started_at >= self.settings.boot_delay

    def enqueue_job(self) -> str | None:
        try:
            if self._redis is None:
                self._redis = jobqueue.connect(self.settings.redis_url)
            job_id = jobqueue.enqueue(self._redis, "web")
        except Exception as exc:
            self._redis = None
            railslog.emit(f"[ActiveJob] Failed enqueuing DemoJob to Redis(default): "
                          f"{type(exc).__name__}: {exc}")
            return None
        railslog.emit(railslog.job_enqueued(job_id))
        return job_id


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes
        server_version = "demo"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # silence http.server's own lines
            pass

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/up":
                self._up()
                return
            request_id = str(uuid.uuid4())
            begin = time.monotonic()
            ip = client_ip(self.headers.get("X-Forwarded-For"), self.client_address[0])
            railslog.emit(railslog.started(request_id, self.command, self.path, ip))
            if path == "/version":
                railslog.emit(railslog.processing(request_id, "PagesController#version", "TEXT"))
                railslog.emit(railslog.completed(request_id, 200, (time.monotonic() - begin) * 1000))
                self._send(200, f"{app.settings.version}\n", "text/plain")
            elif path == "/":
                self._index(request_id, begin)
            else:
                railslog.emit(railslog.completed(request_id, 404, (time.monotonic() - begin) * 1000))
                self._send(404, "Not Found\n", "text/plain")

        def _up(self) -> None:
            if app.settings.fail_healthcheck:
                self._send(500, "unhealthy (FAIL_HEALTHCHECK is set)\n", "text/plain")
            elif not app.booted:
                self._send(503, "booting\n", "text/plain")
            else:
                self._send(200, '<!DOCTYPE html><html><body style="background-color: green"></body></html>\n',
                           "text/html")

        def _index(self, request_id: str, begin: float) -> None:
            railslog.emit(railslog.processing(request_id, "PagesController#index"))
            db_begin = time.monotonic()
            try:
                visits = record_visit(app.settings)
            except Exception as exc:
                # Logged before the answer goes out, so the log is complete once the client has it.
                railslog.emit(railslog.completed(request_id, 500, (time.monotonic() - begin) * 1000))
                railslog.emit(railslog.error(request_id, "ActiveRecord::ConnectionNotEstablished", str(exc)))
                self._send(500, "<h1>We're sorry, but something went wrong.</h1>\n", "text/html")
                return
            db_ms = (time.monotonic() - db_begin) * 1000
            app.enqueue_job()
            s = app.settings
            body = (f"<!DOCTYPE html><html><head><title>shipdeck demo</title></head><body>"
                    f"<h1>shipdeck demo</h1><p>version: <b id=\"version\">{html.escape(s.version)}</b></p>"
                    f"<p>host: <b id=\"host\">{html.escape(s.host)}</b></p>"
                    f"<p>visits: <b id=\"visits\">{visits}</b></p></body></html>\n")
            railslog.emit(railslog.completed(request_id, 200, (time.monotonic() - begin) * 1000, db_ms))
            self._send(200, body, "text/html")

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-App-Version", app.settings.version)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def _stop(signum: int, frame: Any) -> None:
    railslog.emit(f"- Gracefully stopping (signal {signum}), goodbye")
    raise SystemExit(0)


def main() -> None:
    settings = from_env()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    app = App(settings)
    server = ThreadingHTTPServer(("0.0.0.0", settings.port), make_handler(app))
    server.daemon_threads = True
    railslog.emit(f"=> Booting demo version {settings.version} on {settings.host} (Rails-like demo app)")
    railslog.emit(f"=> database host {settings.database_host}, redis {redact_url(settings.redis_url)}")
    railslog.emit(f"* Listening on http://0.0.0.0:{settings.port}")
    if settings.fail_healthcheck:
        railslog.emit("=> FAIL_HEALTHCHECK is set: /up will never report healthy")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
