"""The demo project's own Dockerfile (FROM shipdeck/demo-base:1) built and run against the real
postgres:15 and redis:7 images: Rails-like boot, logs, jobs, a wrong password, a failing health check."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sandbox.demo_project import write_demo_project
from tests.images.http_support import get

from .conftest import Docker, docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def build(project: Path, tag: str, *args: str) -> None:
    result = subprocess.run(["docker", "build", "-t", tag, *args, str(project)], capture_output=True, text=True,
                            env=dict(os.environ, DOCKER_BUILDKIT="0"), timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def published_port(container: str) -> int:
    return int(docker("port", container, "80").stdout.split(":")[-1])


def wait_status(port: int, path: str, status: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = get(port, path)[0]
        except OSError as exc:
            last = exc
        if last == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"GET {path} never answered {status} (last: {last})")


@pytest.fixture
def demo_image(engine: Docker, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("")
    project = write_demo_project(tmp_path / "demo", hosts=["10.77.0.11", "10.77.0.12", "10.77.0.13"],
                                 registry="10.77.0.1:5000", registry_username="shipdeck", ssh_config=ssh_config)
    tag = f"shipdeck-test-demo:{engine.suffix}"
    build(project, tag)
    yield tag, project
    docker("rmi", "--force", tag, f"{tag}-failing", check=False)


def test_demo_app_behaves_like_a_rails_app(engine: Docker, demo_image: tuple[str, Path]) -> None:
    image, _ = demo_image
    network = engine.network()
    db = engine.run("demo-db", "--network", network, "-e", "POSTGRES_PASSWORD=pw", "postgres:15")
    redis = engine.run("demo-redis", "--network", network, "redis:7")
    engine.wait_for_log(db, "database system is ready to accept connections", count=2)
    engine.wait_for_log(redis, "Ready to accept connections")
    env = ["-e", f"DB_HOST={db}", "-e", f"REDIS_URL=redis://{redis}:6379/0", "-e", "KAMAL_VERSION=v1"]
    web = engine.run("web", "--network", network, "-p", "127.0.0.1::80", *env, "-e", "POSTGRES_PASSWORD=pw",
                     "-e", "BOOT_DELAY=2", image)
    port = published_port(web)
    wait_status(port, "/up", 503)  # listening, still booting
    wait_status(port, "/up", 200)
    status, body = get(port, "/")
    assert status == 200 and 'id="version">v1<' in body and 'id="visits">1<' in body
    assert get(port, "/")[1].count('id="visits">2<') == 1
    logs = engine.logs(web)
    assert re.search(r'Started GET "/" for \d+\.\d+\.\d+\.\d+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000', logs)
    assert "Processing by PagesController#index as HTML" in logs
    assert re.search(r"Completed 200 OK in \d+ms", logs)
    assert "[ActiveJob] Enqueued DemoJob (Job ID: " in logs

    job = engine.run("job", "--network", network, *env, "-e", "POSTGRES_PASSWORD=pw", "-e", "JOB_INTERVAL=1",
                     image, "bin/jobs")
    logs = engine.wait_for_log(job, "[ActiveJob] Performed DemoJob (Job ID: ", count=3)
    assert re.search(r"\[ActiveJob\] Performed DemoJob \(Job ID: [0-9a-f-]{36}\) in \d+ms", logs)

    wrong = engine.run("web-wrong", "--network", network, "-p", "127.0.0.1::80", *env,
                       "-e", "POSTGRES_PASSWORD=not-the-password", "-e", "BOOT_DELAY=0", image)
    wrong_port = published_port(wrong)
    wait_status(wrong_port, "/up", 200)
    assert get(wrong_port, "/")[0] == 500
    logs = engine.wait_for_log(wrong, "password authentication failed")
    assert re.search(rf'connection to server at "{db}" \(\d+\.\d+\.\d+\.\d+\), port 5432 failed: '
                     r'FATAL:  password authentication failed for user "postgres"', logs)
    assert "Completed 500 Internal Server Error" in logs

    for container in (web, job):
        assert engine.stop_seconds(container) < 1.0, f"{container} did not stop promptly on SIGTERM"


def test_failing_health_check_switch(engine: Docker, demo_image: tuple[str, Path]) -> None:
    image, project = demo_image
    by_env = engine.run("failing-env", "-p", "127.0.0.1::80", "-e", "FAIL_HEALTHCHECK=1", "-e", "BOOT_DELAY=0",
                        image)
    build(project, f"{image}-failing", "--build-arg", "FAIL_HEALTHCHECK=1")
    by_build_arg = engine.run("failing-arg", "-p", "127.0.0.1::80", "-e", "BOOT_DELAY=0", f"{image}-failing")
    healthy = engine.run("healthy", "-p", "127.0.0.1::80", "-e", "BOOT_DELAY=0", image)
    wait_status(published_port(healthy), "/up", 200)
    for container in (by_env, by_build_arg):
        port = published_port(container)
        wait_status(port, "/version", 200)
        time.sleep(0.5)
        assert get(port, "/up")[0] == 500
