"""Configuration from the environment, the way the deploy hands it to the container."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    port: int
    boot_delay: float
    fail_healthcheck: bool
    version: str
    host: str
    database_dsn: str | None  # None: no password and no DATABASE_URL given
    database_host: str
    redis_url: str
    job_interval: float


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    service = env.get("SERVICE", "demo")
    db_host = env.get("DB_HOST") or f"{service}-db"
    dsn = database_dsn(env, db_host)
    return Settings(
        port=int(env.get("PORT", "80")),
        boot_delay=float(env.get("BOOT_DELAY", "1")),
        fail_healthcheck=_flag(env.get("FAIL_HEALTHCHECK")),
        version=env.get("KAMAL_VERSION") or env.get("APP_VERSION") or "unknown",
        host=env.get("KAMAL_HOST") or socket.gethostname(),
        database_dsn=dsn,
        database_host=db_host,
        redis_url=env.get("REDIS_URL") or f"redis://{service}-redis:6379/0",
        job_interval=float(env.get("JOB_INTERVAL", "10")),
    )


def database_dsn(env: Mapping[str, str], db_host: str) -> str | None:
    """libpq connection string: `DATABASE_URL` wins, else POSTGRES_* variables against `db_host`."""
    if env.get("DATABASE_URL"):
        return env["DATABASE_URL"]
    password = env.get("POSTGRES_PASSWORD")
    if password is None:
        return None
    user = env.get("POSTGRES_USER", "postgres")
    parts = {
        "host": db_host,
        "port": env.get("DB_PORT", "5432"),
        "user": user,
        "password": password,
        "dbname": env.get("POSTGRES_DB", user),
        "connect_timeout": "3",
    }
    return " ".join(f"{key}={_quote(value)}" for key, value in parts.items())


def _quote(value: str) -> str:
    """Quote a value for a libpq keyword/value connection string."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def redact_url(url: str) -> str:
    """`redis://:secret@host:6379/0` -> `redis://host:6379/0` (for log lines)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://{rest.rsplit('@', 1)[1]}"
