"""Faults during a deploy: a host that drops off the network, and the operator (or CI) interrupting.

A host is cut off by taking its veth link down on this machine (`ip link set sdveth<N> down`) from a
pre-app-boot hook, i.e. after the lock is taken and before any container boots; the link is always
restored. Interruptions send SIGINT/SIGTERM to `shipdeck deploy` while its pre-deploy hook runs.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from app.sandbox import network
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
    shipdeck_argv,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("faults") / "demo"), job=True)
    with pushed_and_deployed(made) as deployed:
        yield deployed


def write_hook(project: Project, name: str, body: str) -> None:
    hooks = project.path / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / name
    hook.write_text("#!/bin/sh\n" + body + "\n")
    hook.chmod(0o755)


def remove_hooks(project: Project) -> None:
    for hook in (project.path / ".kamal" / "hooks").glob("*"):
        hook.unlink()


def running_version(project: Project, host: str, role: str) -> set[str]:
    prefix = f"{project.service}-{role}-"
    return {name[len(prefix):] for name, state in containers(project, host).items()
            if state == "running" and name.startswith(prefix)}


def test_an_unreachable_host_fails_alone_and_names_itself(project: Project, sandbox: Sandbox) -> None:
    v1 = project.version()
    web1, web2 = project.web_hosts()
    job_host = project.config["servers"]["job"]["hosts"][0]
    cut = sandbox.host(web2).index
    veth = network.veth_name(cut)
    v2 = project.commit("v2")
    kamal(project, "build", "push")
    write_hook(project, "pre-app-boot", f"ip link set {veth} down")
    try:
        started = time.monotonic()
        result = shipdeck(project, "deploy", "-P", check=False, timeout=600)
        elapsed = time.monotonic() - started
    finally:
        subprocess.run(["ip", "link", "set", veth, "up"], check=True)
        remove_hooks(project)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    error_line = [line for line in output.splitlines() if line.startswith("shipdeck: ")][-1]
    assert web2 in error_line and "app.boot" in error_line, error_line
    assert web1 not in error_line, error_line
    print(f"deploy with {web2} cut off failed after {elapsed:.1f}s: {error_line}")

    assert not lock_exists(project)
    assert running_version(project, web1, "web") == {v2}
    assert get(web1, project.proxy_host)[1].strip() == v2
    assert running_version(project, job_host, "job") == {v2}
    for _ in range(30):  # the link is back: host 2 still serves the old version, untouched
        if sandbox.run(web2, "true", check=False, timeout=10).returncode == 0:
            break
        time.sleep(1)
    assert running_version(project, web2, "web") == {v1}
    assert get(web2, project.proxy_host)[1].strip() == v1

    shipdeck(project, "deploy", "-P")  # and the next deploy brings it level
    assert running_version(project, web2, "web") == {v2}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_deploy_releases_the_lock(project: Project, signum: signal.Signals) -> None:
    write_hook(project, "pre-deploy", "exec sleep 60")
    process = subprocess.Popen(shipdeck_argv("deploy", "-P"), cwd=project.path, env=project.sandbox.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not lock_exists(project):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the deploy never took the lock"
            time.sleep(0.3)
        time.sleep(1)  # inside the pre-deploy hook now
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        remove_hooks(project)
    assert process.returncode == 130, output
    assert f"interrupted by {signum.name}" in output
    assert not lock_exists(project), output
