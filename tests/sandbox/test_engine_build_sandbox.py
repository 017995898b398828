"""`shipdeck build push|pull` with real Kamal: an image pushed by one deploys or pulls with the other."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import cleanup, get, kamal, shipdeck
from tests.sandbox.ops_support import audit_lines, last_host, project_on_last_host

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]


def test_shipdeck_push_deploys_with_kamal_and_kamal_push_pulls_with_shipdeck(sandbox: Sandbox,
                                                                              tmp_path: Path) -> None:
    host = last_host(sandbox)
    project = project_on_last_host(sandbox, tmp_path / "p")
    repository = f"{sandbox.private_registry}/{project.service}/app"
    try:
        began = time.monotonic()
        pushed = shipdeck(project, "build", "push").stdout
        print(f"shipdeck build push: {time.monotonic() - began:.2f}s")
        version = project.version()
        assert f"Pushed {repository}:{version}, {repository}:latest" in pushed

        kamal(project, "deploy", "-P")  # Kamal pulls shipdeck's image and checks its `service` label
        status, body = get(host, project.proxy_host)
        assert status == 200 and version in body, body

        second = project.commit("second version")
        kamal(project, "build", "push")
        began = time.monotonic()
        shipdeck(project, "build", "pull")
        print(f"shipdeck build pull: {time.monotonic() - began:.2f}s")
        label = sandbox.run(host, f"docker image inspect -f '{{{{.Config.Labels.service}}}}' {repository}:{second}")
        assert label.stdout.strip() == project.service
        assert audit_lines(sandbox, host, project.service)[-1] == f"Pulled image with version {second}"
    finally:
        cleanup(project)


def test_pull_refuses_an_image_without_the_service_label(sandbox: Sandbox, tmp_path: Path) -> None:
    project = project_on_last_host(sandbox, tmp_path / "p")
    image = f"{sandbox.private_registry}/{project.service}/app:unlabelled"
    env = sandbox.env()
    for argv in (["docker", "tag", sandbox.probe_image, image], ["docker", "push", image]):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    try:
        failed = shipdeck(project, "build", "pull", "--version", "unlabelled", check=False)
        assert failed.returncode == 1
        assert f"Image {image} is missing the 'service' label" in failed.stdout + failed.stderr
    finally:
        subprocess.run(["docker", "rmi", image], env=env, capture_output=True, check=False)
        cleanup(project)
