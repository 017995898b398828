"""The job role (`bin/jobs`): pops DemoJobs from Redis and performs them; enqueues one on a timer too."""

from __future__ import annotations

import signal
import time
from typing import Any

from . import jobqueue, railslog
from .settings import from_env, redact_url


def perform(client: Any, job: dict[str, Any]) -> float:
    """Perform one DemoJob (count it in Redis) and return the elapsed milliseconds."""
    begin = time.monotonic()
    client.incr(jobqueue.PERFORMED_KEY)
    return (time.monotonic() - begin) * 1000


def _stop(signum: int, frame: Any) -> None:
    railslog.emit(f"[jobs] stopping (signal {signum})")
    raise SystemExit(0)


def main() -> None:
    settings = from_env()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    railslog.emit(f"[jobs] worker started, version {settings.version}, queue default on "
                  f"{redact_url(settings.redis_url)}")
    client: Any = None
    next_tick = time.monotonic() + settings.job_interval
    while True:
        try:
            if client is None:
                client = jobqueue.connect(settings.redis_url)
                client.ping()
                railslog.emit("[jobs] connected to Redis")
            if settings.job_interval > 0 and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + settings.job_interval
                railslog.emit(railslog.job_enqueued(jobqueue.enqueue(client, "timer")))
            popped = client.brpop(jobqueue.QUEUE_KEY, timeout=1)
            if popped is None:
                continue
            try:
                job = jobqueue.decode(popped[1])
            except ValueError as exc:
                railslog.emit(f"[ActiveJob] Discarded a malformed job: {exc}")
                continue
            elapsed = perform(client, job)
            railslog.emit(railslog.job_performed(job["job_id"], elapsed))
        except SystemExit:
            raise
        except Exception as exc:
            railslog.emit(f"[jobs] Redis error: {type(exc).__name__}: {exc}; retrying in 1s")
            client = None
            time.sleep(1)


if __name__ == "__main__":
    main()
