"""The DemoJob queue in Redis: a JSON payload per job on one list, like a tiny ActiveJob adapter."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

QUEUE_KEY = "queue:default"
PERFORMED_KEY = "demo:performed"


def new_job(source: str) -> dict[str, Any]:
    return {"job_class": "DemoJob", "job_id": str(uuid.uuid4()), "queue_name": "default",
            "arguments": [source], "enqueued_at": time.time()}


def encode(job: dict[str, Any]) -> str:
    return json.dumps(job, separators=(",", ":"))


def decode(raw: bytes | str) -> dict[str, Any]:
    job = json.loads(raw)
    if not isinstance(job, dict) or job.get("job_class") != "DemoJob" or "job_id" not in job:
        raise ValueError("not a DemoJob payload")
    return job


def connect(url: str) -> Any:
    import redis  # Debian's python3-redis, present in the image only

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)


def enqueue(client: Any, source: str) -> str:
    job = new_job(source)
    client.lpush(QUEUE_KEY, encode(job))
    return job["job_id"]
