"""Log lines shaped like a Rails 8 production log (tagged with the request id), printed to stdout."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from http import HTTPStatus

_lock = threading.Lock()


def emit(line: str) -> None:
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def rails_time(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def started(request_id: str, method: str, path: str, client_ip: str, moment: datetime | None = None) -> str:
    return f'[{request_id}] Started {method} "{path}" for {client_ip} at {rails_time(moment)}'


def processing(request_id: str, action: str, fmt: str = "HTML") -> str:
    return f"[{request_id}] Processing by {action} as {fmt}"


def completed(request_id: str, status: int, elapsed_ms: float, db_ms: float | None = None) -> str:
    phrase = HTTPStatus(status).phrase
    line = f"[{request_id}] Completed {status} {phrase} in {round(elapsed_ms)}ms"
    if db_ms is not None:
        line += f" (ActiveRecord: {db_ms:.1f}ms)"
    return line


def error(request_id: str, exc_class: str, message: str) -> str:
    flat = " ".join(message.strip().split("\n"))
    return f"[{request_id}] {exc_class} ({flat})"


def job_enqueued(job_id: str, queue: str = "default") -> str:
    return f"[ActiveJob] Enqueued DemoJob (Job ID: {job_id}) to Redis({queue})"


def job_performed(job_id: str, elapsed_ms: float) -> str:
    return f"[ActiveJob] Performed DemoJob (Job ID: {job_id}) in {round(elapsed_ms)}ms"
