"""`server bootstrap` on servers without Docker: bare sandbox hosts (their own Debian root filesystem,
no Docker), where Kamal's installer pipeline fetches https://get.docker.com from the sandbox's stand-in
and installs Debian's Docker packages from its download.docker.com repository.

shipdeck installs Docker as root, runs the docker-setup hook, and only checks the second time; as a user
without sudo rights it fails with Kamal's message; as a user with passwordless sudo it installs Docker and
adds the user to the docker group. Real Kamal 2.11 does the same on other fresh bare hosts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.sandbox import bare_hosts, bare_image, docker_download, layout
from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, kamal, make_project, shipdeck

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

KAMAL_MISSING = "Docker is not installed on {host} and can't be automatically installed without having root access"


@pytest.fixture
def bare_host(sandbox: Sandbox) -> Iterator[Callable[[int], bare_hosts.BareHost]]:
    """Starts fresh bare hosts on demand; removes them when the test ends."""
    started: list[int] = []
    lines: list[str] = []

    def start(index: int) -> bare_hosts.BareHost:
        started.append(index)
        try:
            return bare_hosts.start(sandbox.root, index, lines.append)
        except Exception as error:
            raise AssertionError("starting a bare host failed:\n" + "\n".join(lines)) from error

    yield start
    for index in started:
        bare_hosts.stop(sandbox.root, index, lambda line: None)


def bare_project(sandbox: Sandbox, directory: Path, host: bare_hosts.BareHost, *, user: str = "root") -> Project:
    """A copy of the demo whose only server is the bare host, with a docker-setup hook leaving a marker."""
    copy = sandbox.copy_demo(directory)
    hook = copy / ".kamal" / "hooks" / "docker-setup"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f'#!/bin/sh\necho "$KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_HOSTS" > {directory}.hook-ran\n')
    hook.chmod(0o755)
    ssh = {"user": user, "config": str(layout.bare_ssh_config_path(sandbox.root))}
    return make_project(sandbox, copy, job=False, extra={"servers": {"web": {"hosts": [host.address]}}, "ssh": ssh})


def on_host(sandbox: Sandbox, host: bare_hosts.BareHost, command: str,
            user: str = "root") -> subprocess.CompletedProcess:
    argv = ["ssh", "-F", str(layout.bare_ssh_config_path(sandbox.root)), "-o", "BatchMode=yes",
            f"{user}@{host.address}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def server_log(sandbox: Sandbox) -> list[str]:
    log = docker_download.download_dir(sandbox.root) / "server.log"
    return log.read_text().splitlines() if log.exists() else []


def installer_requests(sandbox: Sandbox, host: bare_hosts.BareHost, since: int) -> list[str]:
    """The download stand-in's log lines, after the first `since`, for requests from this host."""
    return [line for line in server_log(sandbox)[since:] if line.startswith(f"{host.address} ")]


def hook_marker(project: Project) -> Path:
    return Path(f"{project.path}.hook-ran")


def test_bootstrap_installs_docker_where_missing_then_only_checks(sandbox: Sandbox, tmp_path: Path,
                                                                  bare_host: Callable) -> None:
    host = bare_host(1)
    since = len(server_log(sandbox))
    assert on_host(sandbox, host, "docker -v").returncode == 127  # a server as handed over: no Docker

    # As a user without root or sudo rights: Kamal's message, non-zero, nothing installed.
    deploy = bare_project(sandbox, tmp_path / "deploy", host, user="deploy")
    refused = shipdeck(deploy, "server", "bootstrap", check=False)
    assert refused.returncode != 0
    assert KAMAL_MISSING.format(host=host.address) in refused.stdout + refused.stderr
    assert on_host(sandbox, host, "docker -v").returncode == 127
    assert not hook_marker(deploy).exists()
    assert installer_requests(sandbox, host, since) == []

    # As root: Kamal's installer pipeline runs, Docker is installed and its engine answers.
    project = bare_project(sandbox, tmp_path / "root", host)
    first = shipdeck(project, "server", "bootstrap", "-v")
    output = first.stdout + first.stderr
    assert f"Missing Docker on {host.address}. Installing" in output
    version = on_host(sandbox, host, "docker -v")
    assert version.returncode == 0 and version.stdout.startswith("Docker version 20.10"), version
    engine = on_host(sandbox, host, "docker info --format '{{.Name}} {{.Driver}}'")
    assert engine.returncode == 0 and engine.stdout.split()[0] == host.name, engine
    requests = installer_requests(sandbox, host, since)
    assert any('"GET / HTTP/1.1" 200' in line for line in requests), requests  # get.docker.com
    assert any("docker.io_" in line and " 200 " in line for line in requests), requests  # the package
    assert hook_marker(project).read_text().split() == ["server", host.address]

    # Second time: only the check (and the hook, which runs every time).
    hook_marker(project).unlink()
    second = shipdeck(project, "server", "bootstrap", "-v")
    output = second.stdout + second.stderr
    assert "Installing" not in output and "Docker version 20.10" in output
    assert installer_requests(sandbox, host, since) == requests
    assert hook_marker(project).read_text().split() == ["server", host.address]


@pytest.mark.kamal
@pytest.mark.skipif(shutil.which("kamal") is None, reason="kamal is not installed")
def test_real_kamal_installs_docker_the_same_way(sandbox: Sandbox, tmp_path: Path, bare_host: Callable) -> None:
    host = bare_host(2)
    since = len(server_log(sandbox))
    deploy = bare_project(sandbox, tmp_path / "deploy", host, user="deploy")
    refused = kamal(deploy, "server", "bootstrap", check=False)
    assert refused.returncode != 0
    kamal_output = re.sub(r"\x1b\[[0-9;]*m", "", refused.stdout + refused.stderr)  # without its colours
    assert KAMAL_MISSING.format(host=host.address) in kamal_output
    ours = shipdeck(deploy, "server", "bootstrap", check=False)
    message = next(line for line in kamal_output.splitlines() if "Docker is not installed" in line)
    assert message[message.index("Docker is not installed"):] in ours.stdout + ours.stderr

    project = bare_project(sandbox, tmp_path / "root", host)
    first = kamal(project, "server", "bootstrap")
    assert f"Missing Docker on {host.address}. Installing" in first.stdout + first.stderr
    version = on_host(sandbox, host, "docker -v")
    assert version.returncode == 0 and version.stdout.startswith("Docker version 20.10"), version
    assert any('"GET / HTTP/1.1" 200' in line for line in installer_requests(sandbox, host, since))
    # Kamal 2.11 leaves KAMAL_SUBCOMMAND empty here (its first Thor invocation is Main's `server`).
    assert hook_marker(project).read_text().split() == ["server", host.address]
    second = kamal(project, "server", "bootstrap")
    assert "Installing" not in second.stdout + second.stderr
    # shipdeck, on the host Kamal installed, only checks.
    ours = shipdeck(project, "server", "bootstrap", "-v")
    assert "Installing" not in ours.stdout + ours.stderr and "Docker version 20.10" in ours.stdout


@pytest.mark.parametrize("tool", ["shipdeck", pytest.param("kamal", marks=[
    pytest.mark.kamal, pytest.mark.skipif(shutil.which("kamal") is None, reason="kamal is not installed")])])
def test_bootstrap_with_sudo_installs_docker_and_adds_the_user_to_the_docker_group(
        sandbox: Sandbox, tmp_path: Path, bare_host: Callable, tool: str) -> None:
    host = bare_host(4 if tool == "shipdeck" else 5)
    run = shipdeck if tool == "shipdeck" else kamal
    since = len(server_log(sandbox))
    project = bare_project(sandbox, tmp_path / "ops", host, user=bare_image.SUDO_USER)
    first = run(project, "server", "bootstrap")
    assert f"Missing Docker on {host.address}. Installing" in first.stdout + first.stderr
    assert any('"GET / HTTP/1.1" 200' in line for line in installer_requests(sandbox, host, since))
    # A new session has the docker group: the engine answers without sudo.
    groups = on_host(sandbox, host, "id -nG", user=bare_image.SUDO_USER)
    assert "docker" in groups.stdout.split(), groups
    engine = on_host(sandbox, host, "docker info --format '{{.Name}}'", user=bare_image.SUDO_USER)
    assert engine.returncode == 0 and engine.stdout.strip() == host.name, engine
    assert hook_marker(project).read_text().split() == ["server", host.address]  # no KAMAL_SUBCOMMAND
    second = run(project, "server", "bootstrap")
    assert "Installing" not in second.stdout + second.stderr


def test_a_bare_host_starts_fresh_after_a_killed_run(sandbox: Sandbox, bare_host: Callable) -> None:
    host = bare_host(3)
    assert on_host(sandbox, host, "touch /root/leftover && docker -v").returncode == 127
    os.kill(int((host.dir / "sshd.pid").read_text()), 9)  # as if the run that started it was killed
    again = bare_host(3)
    result = on_host(sandbox, again, "test ! -e /root/leftover && hostname")
    assert result.returncode == 0 and result.stdout.strip() == again.name, result
