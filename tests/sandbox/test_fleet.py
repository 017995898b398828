"""The sandbox fleet behaves like a set of real servers (real sshd, real dockerd, real registries)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.sandbox import layout
from tests.fleet import Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
SHIPDECK = [sys.executable, "-m", "app"]


def shipdeck(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SHIPDECK, *args], capture_output=True, text=True, timeout=timeout, check=False)


def machine_docker(*args: str, input: str | None = None, docker_config: Path | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG")}
    if docker_config:
        env["DOCKER_CONFIG"] = str(docker_config)
    return subprocess.run(["docker", *args], input=input, capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def dockerd_pid(sandbox: Sandbox, index: int) -> int:
    return int((layout.host_dir(sandbox.root, index) / "run" / "docker.pid").read_text())


def test_up_again_reuses_everything_that_runs(sandbox: Sandbox) -> None:
    before = [dockerd_pid(sandbox, h.index) for h in sandbox.hosts]
    result = shipdeck("sandbox", "up", "--hosts", str(len(sandbox.hosts)))
    assert result.returncode == 0, result.stdout + result.stderr
    for host in sandbox.hosts:
        assert f"{host.name}: dockerd running" in result.stdout
        assert f"{host.name}: sshd running" in result.stdout
        assert f"ssh -F {sandbox.ssh_config} root@{host.address}" in result.stdout
    assert [dockerd_pid(sandbox, h.index) for h in sandbox.hosts] == before
    assert re.search(r": (dockerd|sshd) started|: started \(pid", result.stdout) is None, result.stdout
    status = shipdeck("sandbox", "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(": sshd running, dockerd running") == len(sandbox.hosts)


def test_each_host_answers_ssh_and_host_keys_are_checked(sandbox: Sandbox, tmp_path: Path) -> None:
    for host in sandbox.hosts:
        result = sandbox.run(host, "hostname; echo $HOME; pwd")
        assert result.stdout.split() == [host.name, "/root", "/root"]
    # strict checking is really on: an empty known_hosts file is refused
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    refused = subprocess.run(sandbox.ssh_argv(1, "true", "-o", f"UserKnownHostsFile={empty}"),
                             capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stderr
    # and each host has its own host key
    keys = [line.split()[-1] for line in sandbox.known_hosts.read_text().splitlines()]
    assert len(set(keys)) == len(sandbox.hosts)


def test_docker_over_ssh_talks_to_each_hosts_own_engine(sandbox: Sandbox) -> None:
    machine = machine_docker("info", "--format", "{{.ID}}").stdout.strip()
    seen = {}
    for host in sandbox.hosts:
        result = sandbox.run(host, 'echo "${DOCKER_HOST:-none}"; docker info --format "{{.ID}} {{.Name}}"')
        docker_host, info = result.stdout.strip().splitlines()
        engine_id, name = info.split()
        assert docker_host == "none"
        assert name == host.name
        seen[host.name] = engine_id
    assert len(set(seen.values())) == len(sandbox.hosts)
    assert machine not in seen.values()


def test_home_and_engine_paths_are_per_host(sandbox: Sandbox) -> None:
    token = secrets.token_hex(8)
    first, second = sandbox.hosts[0], sandbox.hosts[1]
    sandbox.run(first, f"mkdir -p .kamal && echo {token} > .kamal/probe-{token}")
    assert sandbox.run(first, f"cat .kamal/probe-{token}").stdout.strip() == token
    assert sandbox.run(second, f"test -e .kamal/probe-{token}", check=False).returncode == 1
    home = layout.host_dir(sandbox.root, first.index) / "home"
    assert (home / ".kamal" / f"probe-{token}").read_text().strip() == token
    # `$PWD/...` bind mounts resolve to the same per-host dir for the shell and for dockerd
    sandbox.run(first, f"docker run --rm -v $PWD/app-probe/data:/data {sandbox.probe_image} "
                       f"sh -c 'echo {token} > /data/written-by-container'")
    assert (home / "app-probe" / "data" / "written-by-container").read_text().strip() == token
    assert sandbox.run(first, "cat app-probe/data/written-by-container").stdout.strip() == token
    other_home = layout.host_dir(sandbox.root, second.index) / "home"
    assert not (other_home / "app-probe" / "data" / "written-by-container").exists()
    sandbox.run(first, f"rm -rf .kamal/probe-{token} app-probe")


def test_forwarding_the_docker_socket_over_ssh(sandbox: Sandbox) -> None:
    for host in sandbox.hosts:
        scratch = tempfile.mkdtemp(prefix="sbx-fwd-")
        local = Path(scratch) / "docker.sock"
        tunnel = subprocess.Popen(
            sandbox.ssh_argv(host, "", "-N", "-o", "ExitOnForwardFailure=yes",
                             "-L", f"{local}:/var/run/docker.sock")[:-1],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 15
            while not local.exists() and time.monotonic() < deadline and tunnel.poll() is None:
                time.sleep(0.05)
            assert local.exists(), "the forwarded socket did not appear"
            result = machine_docker("-H", f"unix://{local}", "info", "--format", "{{.Name}}")
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == host.name
        finally:
            tunnel.terminate()
            tunnel.wait(timeout=10)
            shutil.rmtree(scratch, ignore_errors=True)


def test_private_registry_checks_the_password(sandbox: Sandbox, tmp_path: Path) -> None:
    good = machine_docker("login", sandbox.private_registry, "-u", sandbox.registry_username,
                          "--password-stdin", input=sandbox.registry_password, docker_config=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "Login Succeeded" in good.stdout
    bad = machine_docker("login", sandbox.private_registry, "-u", sandbox.registry_username,
                         "--password-stdin", input="not-" + sandbox.registry_password,
                         docker_config=tmp_path / "other")
    assert bad.returncode != 0
    assert "401 Unauthorized" in bad.stderr
    # the hosts' engines trust the sandbox CA too (TLS, no insecure flag)
    host = sandbox.hosts[-1]
    login = sandbox.run(host, f"docker login {sandbox.private_registry} -u {sandbox.registry_username} "
                              "--password-stdin && docker logout " + sandbox.private_registry,
                        input=sandbox.registry_password)
    assert "Login Succeeded" in login.stdout
    assert sandbox.run(host, f"docker login {sandbox.private_registry} -u {sandbox.registry_username} "
                             "--password-stdin", input="wrong", check=False).returncode != 0


def test_a_host_name_lookup_fails_at_once_instead_of_timing_out(sandbox: Sandbox) -> None:
    host = sandbox.hosts[2]
    assert sandbox.run(host, "cat /etc/resolv.conf").stdout.split()[:2] == ["nameserver", layout.GATEWAY]
    began = time.monotonic()
    lookup = sandbox.run(host, "getent hosts registry-1.docker.io", check=False)
    elapsed = time.monotonic() - began
    assert lookup.returncode != 0
    assert elapsed < 3, f"a lookup on a host took {elapsed:.1f} s (a resolver that cannot be reached)"


def test_hub_names_pull_through_the_mirror_on_a_host(sandbox: Sandbox) -> None:
    host = sandbox.hosts[1]
    sandbox.run(host, f"docker image rm -f {sandbox.probe_image} >/dev/null 2>&1; true")
    pulled = sandbox.run(host, f"docker pull {sandbox.probe_image}")
    assert f"docker.io/library/{sandbox.probe_image}" in pulled.stdout
    mirrors = sandbox.run(host, "docker info --format '{{index .RegistryConfig.Mirrors 0}}'").stdout.strip()
    assert mirrors == f"http://{sandbox.mirror_registry}/"
    assert sandbox.run(host, f"docker run --rm {sandbox.probe_image} echo from-the-mirror").stdout.strip() == \
        "from-the-mirror"


def test_sandbox_images_are_in_the_mirror_under_hub_names(sandbox: Sandbox) -> None:
    expected = {"postgres:15", "redis:7", "basecamp/kamal-proxy:v0.9.2", "basecamp/kamal-proxy:v0.8.4"}
    assert expected <= set(sandbox.images), f"images pushed by `sandbox up`: {sandbox.images}"
    host = sandbox.hosts[0]
    for name in sorted(expected):
        result = sandbox.run(host, f"docker pull {name}", check=False, timeout=600)
        assert result.returncode == 0, result.stderr


def test_plain_http_registry_reproduces_the_self_hosted_failure(sandbox: Sandbox, tmp_path: Path) -> None:
    target = f"{sandbox.self_hosted_registry}/group/probe:{secrets.token_hex(4)}"
    assert machine_docker("tag", sandbox.probe_image, target).returncode == 0
    try:
        push = machine_docker("push", target, docker_config=tmp_path)
        assert push.returncode != 0
        assert "http: server gave HTTP response to HTTPS client" in push.stderr
    finally:
        machine_docker("image", "rm", target)
    # the registry itself works for an engine that lists it as insecure (the hosts do)
    host = sandbox.hosts[0]
    script = (f"docker login {sandbox.self_hosted_registry} -u {sandbox.registry_username} --password-stdin "
              f"&& docker pull -q {sandbox.probe_image} && docker tag {sandbox.probe_image} {target} "
              f"&& docker push {target} "
              f"&& docker image rm {target} && docker logout {sandbox.self_hosted_registry}")
    assert "Login Succeeded" in sandbox.run(host, script, input=sandbox.registry_password).stdout


def test_hosts_reach_each_other(sandbox: Sandbox) -> None:
    first, second = sandbox.hosts[0], sandbox.hosts[1]
    banner = sandbox.run(first, f"exec 3<>/dev/tcp/{second.address}/22 && head -c 7 <&3", timeout=30)
    assert banner.stdout == "SSH-2.0"


def test_buildx_standin_builds_and_pushes_to_the_private_registry(sandbox: Sandbox, tmp_path: Path) -> None:
    env = sandbox.env()
    assert subprocess.run(["docker", "buildx", "version"], env=env, capture_output=True, text=True,
                          check=False).stdout.startswith("github.com/docker/buildx")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {sandbox.probe_image}\nARG GREETING\nRUN echo $GREETING > /greeting\n")
    login = subprocess.run(["docker", "login", sandbox.private_registry, "-u", sandbox.registry_username,
                            "--password-stdin"], input=sandbox.registry_password, env=env, capture_output=True,
                           text=True, check=False)
    assert login.returncode == 0, login.stderr
    repository = f"{sandbox.private_registry}/probe/app"
    tag = secrets.token_hex(4)
    build = subprocess.run(
        ["docker", "buildx", "build", "--output=type=registry", "--platform", "linux/amd64",
         "-t", f"{repository}:{tag}", "-t", f"{repository}:latest", "--label", "service=probe",
         "--build-arg", "GREETING=hello-from-buildx", "--file", "Dockerfile", "."],
        cwd=context, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    host = sandbox.hosts[0]
    script = (f"docker login {sandbox.private_registry} -u {sandbox.registry_username} --password-stdin >/dev/null"
              f" && docker pull -q {repository}:{tag} >/dev/null"
              f" && docker inspect -f '{{{{ .Config.Labels.service }}}}' {repository}:{tag}"
              f" && docker run --rm {repository}:{tag} cat /greeting"
              f"; docker logout {sandbox.private_registry} >/dev/null")
    assert sandbox.run(host, script, input=sandbox.registry_password).stdout.split() == \
        ["probe", "hello-from-buildx"]


def _sandbox_leftovers(root: Path) -> list[str]:
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    found += [f"netns {line.split()[0]}" for line in netns.splitlines() if line.startswith("shipdeck-sbx")]
    if subprocess.run(["ip", "link", "show", layout.BRIDGE], capture_output=True, check=False).returncode == 0:
        found.append(f"bridge {layout.BRIDGE}")
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {m}" for m in re.findall(r"^\S+ \S+ \S+ \S+ (\S+)", mounts, re.M) if m.startswith(str(root))]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(root) in command and int(pid) != os.getpid():
            found.append(f"process {pid}: {command[:80]}")
    if (Path("/etc/docker/certs.d") / layout.PRIVATE_REGISTRY).exists():
        found.append("CA under /etc/docker/certs.d")
    return found


def test_down_removes_everything_and_up_survives_an_interruption(sandbox: Sandbox) -> None:
    """Runs last in this file: the fleet is brought back up at the end."""
    machine_before = machine_docker("info", "--format", "{{.ID}}").stdout.strip()
    down = shipdeck("sandbox", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert _sandbox_leftovers(sandbox.root) == []
    assert machine_docker("info", "--format", "{{.ID}}").stdout.strip() == machine_before  # left alone
    assert shipdeck("sandbox", "status").returncode == 1
    # interrupt an `up` half-way, as a cancelled CI job would
    interrupted = subprocess.Popen([*SHIPDECK, "sandbox", "up", "--hosts", str(len(sandbox.hosts))],
                                   stdout=subprocess.PIPE, text=True)
    assert interrupted.stdout is not None
    for line in interrupted.stdout:
        if "sandbox-1: dockerd started" in line:
            break
    interrupted.send_signal(signal.SIGKILL)
    interrupted.wait(timeout=30)
    again = shipdeck("sandbox", "up", "--hosts", str(len(sandbox.hosts)))
    assert again.returncode == 0, again.stdout + again.stderr
    status = shipdeck("sandbox", "status")
    assert status.returncode == 0, status.stdout
    assert sandbox.run(sandbox.hosts[-1], "hostname").stdout.strip() == sandbox.hosts[-1].name


def test_up_recovers_from_killed_daemons(sandbox: Sandbox) -> None:
    """What a CI job finds after the previous run was killed: namespaces and mounts, dead daemons."""
    from app.sandbox import registries
    from app.sandbox.hosts import Host, host_pids

    victims = []
    for host in sandbox.hosts:
        victims += host_pids(Host(sandbox.root, host.index))
    victims += [pid for r in registries.REGISTRIES if (pid := registries.registry_pid(sandbox.root, r))]
    assert victims
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):  # a daemon's children may go with it
            os.kill(pid, signal.SIGKILL)
    assert shipdeck("sandbox", "status").returncode == 1
    result = shipdeck("sandbox", "up", "--hosts", str(len(sandbox.hosts)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("dockerd started") == len(sandbox.hosts)
    for host in sandbox.hosts:
        assert sandbox.run(host, "docker info --format '{{.Name}}'").stdout.strip() == host.name
