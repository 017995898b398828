"""Zero downtime: requests through each web host's kamal-proxy never fail while shipdeck replaces the app,
and a version that never becomes healthy is refused without a single failed request."""

from __future__ import annotations

import threading
import time

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import (
    Project,
    containers,
    get,
    kamal,
    lock_exists,
    make_project,
    pushed_and_deployed,
    shipdeck,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


class RequestLoop:
    """Requests `/version` through every web host's proxy until stopped; records every outcome."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.results: list[tuple[str, int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(address,), daemon=True)
                         for address in project.web_hosts()]

    def _loop(self, address: str) -> None:
        while not self._stop.is_set():
            try:
                status, body = get(address, self.project.proxy_host, timeout=10)
            except OSError as error:
                status, body = 0, str(error)
            self.results.append((address, status, body.strip()))
            time.sleep(0.02)

    def __enter__(self) -> RequestLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def failures(self) -> list[tuple[str, int, str]]:
        return [result for result in self.results if result[1] != 200]

    def versions(self) -> set[str]:
        return {body for _, status, body in self.results if status == 200}


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("zero") / "demo"), job=False,
                        extra={"deploy_timeout": 10})
    with pushed_and_deployed(made) as deployed:
        yield deployed


def test_no_request_fails_while_v2_replaces_v1(project: Project) -> None:
    v1 = project.version()
    v2 = project.commit("v2")
    kamal(project, "build", "push")
    with RequestLoop(project) as loop:
        time.sleep(0.5)
        shipdeck(project, "deploy", "-P")
        time.sleep(0.5)
    assert len(loop.results) > 50
    assert loop.failures() == []
    assert loop.versions() == {v1, v2}
    for address in project.web_hosts():
        assert get(address, project.proxy_host)[1].strip() == v2
        assert containers(project, address)[f"{project.service}-web-{v1}"] == "exited"


def test_a_version_that_never_gets_healthy_is_refused_without_failed_requests(project: Project) -> None:
    serving = get(project.web_hosts()[0], project.proxy_host)[1].strip()
    broken = project.commit("broken", env={"FAIL_HEALTHCHECK": "1"})
    kamal(project, "build", "push")
    with RequestLoop(project) as loop:
        result = shipdeck(project, "deploy", "-P", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert loop.failures() == []
    assert loop.versions() == {serving}
    assert "target failed to become healthy" in output
    assert "FAIL_HEALTHCHECK is set" in output  # the new container's own log lines are in the error
    assert "Failed to boot web on" in output
    for address in project.web_hosts():
        states = containers(project, address)
        assert states[f"{project.service}-web-{broken}"] == "exited"
        assert states[f"{project.service}-web-{serving}"] == "running"
        assert get(address, project.proxy_host)[1].strip() == serving
    assert not lock_exists(project)
