"""Kamal's local registry (`registry.server: localhost:5555`) on the sandbox: `shipdeck deploy` builds,
pushes to `kamal-docker-registry` on this machine, pulls on the hosts through SSH reverse forwards
and boots; then real Kamal 2.11 deploys the next version in the same project. Both serve through
the proxy, and the forwards are gone after each run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import contract
from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, cleanup, get, kamal, make_project, shipdeck
from tests.sandbox.ops_support import project_on_last_host

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]

PORT = 5555
SERVER = f"localhost:{PORT}"


def local_docker(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=sandbox.env(), capture_output=True, text=True, check=False)


def remove_local_registry(sandbox: Sandbox) -> None:
    local_docker(sandbox, "rm", "-f", contract.LOCAL_REGISTRY_CONTAINER)


@pytest.fixture
def project(sandbox: Sandbox, demo_project: Path) -> Iterator[Project]:
    remove_local_registry(sandbox)  # a leftover from an interrupted run would publish another port
    made = make_project(sandbox, demo_project, job=False, extra={"registry": {"server": SERVER}})
    try:
        yield made
    finally:
        cleanup(made)
        remove_local_registry(sandbox)


def serves(project: Project, version: str) -> None:
    for address in project.web_hosts():
        status, body = get(address, project.proxy_host)
        assert (status, body.strip()) == (200, version), f"{address} answered {status} {body!r}, wanted {version}"


def forward_closed(project: Project) -> None:
    """Nothing listens on a host's 127.0.0.1:PORT once a run has ended."""
    for host in project.web_hosts():
        probe = project.sandbox.run(host, f"timeout 3 bash -c '</dev/tcp/127.0.0.1/{PORT}'", check=False)
        assert probe.returncode != 0, f"{host}: 127.0.0.1:{PORT} still accepts connections"


def pulled_from_local_registry(project: Project, version: str) -> None:
    image = f"{SERVER}/{project.service}/app:{version}"
    for host in project.web_hosts():
        label = project.sandbox.run(host, f"docker image inspect -f '{{{{.Config.Labels.service}}}}' {image}")
        assert label.stdout.strip() == project.service, f"{host}: {image} missing"


def test_shipdeck_then_kamal_deploy_through_the_local_registry(sandbox: Sandbox, project: Project) -> None:
    v1 = project.version()
    deployed = shipdeck(project, "deploy")
    output = deployed.stdout + deployed.stderr
    assert "Setting up local registry port forwarding to " in output
    assert "docker login" not in output
    state = json.loads(local_docker(sandbox, "inspect", contract.LOCAL_REGISTRY_CONTAINER).stdout)[0]
    assert state["State"]["Running"] is True
    assert state["Config"]["Image"] == contract.LOCAL_REGISTRY_IMAGE
    assert state["HostConfig"]["PortBindings"]["5000/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(PORT)}]
    pulled_from_local_registry(project, v1)
    serves(project, v1)
    forward_closed(project)

    refused = shipdeck(project, "registry", "login", check=False)
    assert refused.returncode != 0
    assert "Cannot use login command with a local registry. Use `kamal registry setup` instead." in \
        refused.stdout + refused.stderr

    v2 = project.commit("v2")
    kamal(project, "deploy")  # starts the same kamal-docker-registry, forwards with net-ssh
    pulled_from_local_registry(project, v2)
    serves(project, v2)
    forward_closed(project)

    shipdeck(project, "registry", "remove")
    assert local_docker(sandbox, "inspect", contract.LOCAL_REGISTRY_CONTAINER).returncode != 0


def test_a_port_taken_on_a_host_is_named(sandbox: Sandbox, tmp_path: Path) -> None:
    project = project_on_last_host(sandbox, tmp_path / "p", extra={"registry": {"server": SERVER}})
    host = project.web_hosts()[0]
    listener = ("nohup python3 -c 'import socket,time; s=socket.socket(); "
                f"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", {PORT})); "
                "s.listen(); time.sleep(120)' >/dev/null 2>&1 & echo $!")
    pid = sandbox.run(host, listener).stdout.strip()
    try:
        sandbox.run(host, f"for i in $(seq 50); do timeout 1 bash -c '</dev/tcp/127.0.0.1/{PORT}' && exit 0; "
                          "sleep 0.1; done; exit 1")
        failed = shipdeck(project, "build", "pull", check=False)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0
        assert f"port {PORT} is already in use on the server" in output, output
        assert host in output
    finally:
        sandbox.run(host, f"kill {pid}", check=False)
        cleanup(project)
