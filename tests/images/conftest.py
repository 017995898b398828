"""Fixtures for the image tests: they run containers on this machine's own Docker engine.

Nothing here skips: without a reachable engine the tests fail (`.ci/run` starts the engine). Every
container, network and volume a test makes has a random name and is removed afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from app.sandbox.images import build_images


def docker(*args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


class Docker:
    """Makes uniquely named objects on the engine and removes them at the end of the test."""

    def __init__(self) -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []

    def name(self, base: str) -> str:
        return f"shipdeck-test-{base}-{self.suffix}"

    def network(self, base: str = "kamal") -> str:
        name = self.name(base)
        docker("network", "create", name)
        self.networks.append(name)
        return name

    def volume(self, base: str) -> str:
        name = self.name(base)
        docker("volume", "create", name)
        self.volumes.append(name)
        return name

    def run(self, base: str, *args: str) -> str:
        """`docker run --detach --name <unique> ARGS`; returns the container's name."""
        name = self.name(base)
        self.containers.append(name)
        docker("run", "--detach", "--name", name, *args)
        return name

    def exec(self, container: str, *args: str, check: bool = True, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
        return docker("exec", *(["-i"] if stdin is not None else []), container, *args, check=check, stdin=stdin)

    def logs(self, container: str) -> str:
        result = docker("logs", container, check=False)
        return result.stdout + result.stderr

    def inspect(self, obj: str) -> dict:
        return json.loads(docker("inspect", obj).stdout)[0]

    def short_id(self, container: str) -> str:
        return self.inspect(container)["Id"][:12]

    def stop_seconds(self, container: str, timeout: int = 10) -> float:
        began = time.monotonic()
        docker("stop", "-t", str(timeout), container)
        return time.monotonic() - began

    def wait_for_log(self, container: str, text: str, timeout: float = 30, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs(container)
            if logs.count(text) >= count:
                return logs
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the logs of {container} after {timeout}s:\n{logs[-3000:]}")
            time.sleep(0.2)

    def cleanup(self) -> None:
        if self.containers:
            docker("rm", "--force", "--volumes", *self.containers, check=False)
        for network in self.networks:
            docker("network", "rm", network, check=False)
        if self.volumes:
            docker("volume", "rm", "--force", *self.volumes, check=False)


@pytest.fixture(scope="session")
def sandbox_images() -> list[str]:
    """Every sandbox image, built (or found up to date) on this machine's engine."""
    return build_images(log=lambda line: None)


@pytest.fixture
def engine(sandbox_images: list[str]) -> Iterator[Docker]:
    made = Docker()
    yield made
    made.cleanup()
