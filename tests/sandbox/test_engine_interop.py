"""shipdeck's deploy flow is interchangeable with real Kamal 2.11 on the same servers.

Images are pushed with `kamal build push` and deployed with `deploy -P` (shipdeck then pulls them
itself), so these tests exercise the deploy flow independently of the image builder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox import host_state
from tests.sandbox.engine_support import (
    Project,
    cleanup,
    containers,
    get,
    kamal,
    lock_exists,
    make_project,
    shipdeck,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]


@pytest.fixture
def project(sandbox: Sandbox, demo_project: Path):
    made = make_project(sandbox, demo_project, job=True)
    yield made
    cleanup(made)


def serves(project: Project, version: str) -> None:
    for address in project.web_hosts():
        status, body = get(address, project.proxy_host)
        assert (status, body.strip()) == (200, version), f"{address} answered {status} {body!r}, wanted {version}"


def running_versions(project: Project, host: str) -> set[str]:
    prefix = f"{project.service}-"
    return {name.split("-", 2)[2] for name, state in containers(project, host).items()
            if state == "running" and name.startswith(prefix)}


def test_kamal_v1_shipdeck_v2_kamal_rollback(project: Project) -> None:
    v1 = project.version()
    kamal(project, "deploy")
    serves(project, v1)

    v2 = project.commit("v2")
    kamal(project, "build", "push")
    shipdeck(project, "deploy", "-P")
    serves(project, v2)
    for host in project.web_hosts():
        assert running_versions(project, host) == {v2}
        assert f"{project.service}-web-{v1}" in containers(project, host)  # kept for rollback

    kamal(project, "rollback", v1)
    serves(project, v1)
    details = kamal(project, "app", "details").stdout
    for host in project.web_hosts():
        assert f"App Host: {host}" in details
        assert running_versions(project, host) == {v1}
    assert f"{project.service}-web-{v1}" in details and f"{project.service}-job-{v1}" in details
    assert f"{project.service}-web-{v2}" not in details  # stopped, so not in `docker ps`


def test_shipdeck_v1_kamal_v2_shipdeck_rollback(project: Project) -> None:
    v1 = project.version()
    kamal(project, "build", "push")
    shipdeck(project, "deploy", "-P")
    serves(project, v1)

    v2 = project.commit("v2")
    kamal(project, "deploy")
    serves(project, v2)

    result = shipdeck(project, "rollback", v1)
    serves(project, v1)
    for host in project.web_hosts():
        assert running_versions(project, host) == {v1}
    job_host = project.config["servers"]["job"]["hosts"][0]
    assert running_versions(project, job_host) == {v1}
    details = kamal(project, "app", "details").stdout
    assert f"{project.service}-web-{v1}" in details
    assert "Finished all in" in result.stdout

    missing = shipdeck(project, "rollback", "0123456", check=False)
    assert missing.returncode != 0
    assert "The app version '0123456' is not available as a container (use 'kamal app containers' for " \
           "available versions)" in missing.stdout + missing.stderr
    assert not lock_exists(project)


def test_a_lock_held_by_one_tool_blocks_the_other(project: Project) -> None:
    kamal(project, "lock", "acquire", "-m", "Kamal holds this")
    try:
        status = shipdeck(project, "lock", "status").stdout
        assert "Message: Kamal holds this" in status and "Locked by: shipdeck demo at" in status
        blocked = shipdeck(project, "prune", "all", check=False)
        assert blocked.returncode != 0
        output = blocked.stdout + blocked.stderr
        assert "Deploy lock already in place!" in output
        assert "Deploy lock found. Run 'kamal lock help' for more information" in output
        assert output.count("Message: Kamal holds this") == 1  # the holder's details once, not per renderer
    finally:
        kamal(project, "lock", "release")
    assert not lock_exists(project)

    acquired = shipdeck(project, "lock", "acquire", "-m", "shipdeck holds this")
    assert "Acquired the deploy lock" in acquired.stdout
    try:
        assert "Message: shipdeck holds this" in kamal(project, "lock", "status").stdout
        blocked = kamal(project, "prune", "all", check=False)
        assert blocked.returncode != 0
        assert "Deploy lock already in place!" in blocked.stdout + blocked.stderr
        assert "Deploy lock found" in blocked.stdout + blocked.stderr
    finally:
        released = shipdeck(project, "lock", "release")
    assert "Released the deploy lock" in released.stdout
    assert not lock_exists(project)
    assert "There is no deploy lock" in shipdeck(project, "lock", "release").stdout


def test_setup_leaves_the_same_host_state_as_kamal(sandbox: Sandbox, demo_project: Path) -> None:
    project = make_project(sandbox, demo_project, accessories=True, job=True)
    hosts = [host.address for host in sandbox.hosts]
    keep = (project.version(),)

    def state() -> dict:
        return host_state.dump(lambda host, script: sandbox.run(host, script).stdout, hosts, project.service, keep)

    try:
        kamal(project, "setup")
        with_kamal = state()
        cleanup(project)
        shipdeck(project, "setup", "-P")
        with_shipdeck = state()
    finally:
        cleanup(project)
    assert with_kamal[hosts[0]]["routes"], json.dumps(with_kamal, indent=1)[:3000]
    names = sorted(container["name"] for container in with_kamal[hosts[2]]["containers"])
    assert names == sorted([f"{project.service}-db", f"{project.service}-redis",
                            f"{project.service}-job-{project.version()}"]), names
    assert any(line.endswith("Booted db accessory") for line in with_kamal[hosts[2]]["audit"])
    assert any(".env 600" in line for line in with_kamal[hosts[2]]["env_files"])
    difference = host_state.differences(with_kamal, with_shipdeck)
    assert difference == "", difference
