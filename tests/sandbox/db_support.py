"""A sandbox project whose app keeps its visits in a Postgres accessory on the last host, and the moves the
doctor and repair tests make on it: visit the app, read its rows, taint the database's volume."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, get, pushed_and_deployed
from tests.sandbox.ops_support import last_host, project_on_last_host, shipdeck_in


def db_accessory(host: str) -> dict:
    return {"db": {"image": "postgres:15", "host": host, "env": {"secret": ["POSTGRES_PASSWORD"]},
                   "directories": ["data:/var/lib/postgresql/data"]}}


@contextlib.contextmanager
def project_with_db(sandbox: Sandbox, directory: Path) -> Iterator[Project]:
    """Set up (Kamal builds and pushes, shipdeck sets up) and finally remove the app and its database."""
    host = last_host(sandbox)
    made = project_on_last_host(sandbox, directory, accessories=db_accessory(host), extra={"deploy_timeout": 30})
    made.commit("the app finds its database by name", env={"DB_HOST": f"{made.service}-db"})
    with pushed_and_deployed(made, "setup", "-P") as deployed:
        yield deployed


def visit(project: Project, expect: int, timeout: float = 60) -> str:
    """GET / through the host's kamal-proxy until it answers `expect` (the app writes a row on 200)."""
    deadline = time.monotonic() + timeout
    status, body = 0, ""
    while time.monotonic() < deadline:
        try:
            status, body = get(last_host(project.sandbox), project.proxy_host, "/")
        except OSError as error:
            body = str(error)
        if status == expect:
            return body
        time.sleep(1)
    raise AssertionError(f"GET / answered {status}, not {expect}: {body[:300]}")


def row_ids(project: Project) -> list[int]:
    """The ids of every visit row, read inside the accessory over its socket (no password needed)."""
    result = project.sandbox.run(last_host(project.sandbox), f"docker exec {project.service}-db psql -U postgres "
                                                              "-Atc 'SELECT id FROM visits ORDER BY id'")
    return [int(line) for line in result.stdout.split()]


def taint(project: Project, password: str) -> None:
    """The classic accident: the secret changes, the accessory is rebooted over its data directory (which
    keeps the first password), the app is rebooted with the new one and cannot log in any more."""
    shipdeck_in(project, "accessory", "reboot", "db", env={"POSTGRES_PASSWORD": password})
    shipdeck_in(project, "app", "boot", env={"POSTGRES_PASSWORD": password})
    visit(project, 500)
