"""`shipdeck --auto` exit codes provoked by real runs against a loopback sshd (no sandbox fleet needed):
0 done, 1 a step failed, 2 config, 3 unknown host key / authentication refused / unreachable, 4 lock held,
5 a confirmation needed. Stdin is never read (a run with a terminal-less, closed stdin never waits)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CI = {"GITLAB_CI": "true", "CI_JOB_ID": "7", "CI_PROJECT_DIR": "/builds/x", "NO_COLOR": "1"}


def write_project(directory: Path, sshd, *, known_hosts: Path, key: Path, host: str = "127.0.0.1",
                  extra: dict | None = None) -> tuple[Path, str]:
    service = "auto" + os.urandom(3).hex()
    directory.mkdir(parents=True)
    ssh_config = directory / "ssh_config"
    ssh_config.write_text(f"Host {host}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
                          f"  UserKnownHostsFile {known_hosts}\n")
    config = {"service": service, "image": f"{service}/app", "servers": [host],
              "registry": {"server": "registry.invalid:5000", "username": "deployer",
                           "password": ["KAMAL_REGISTRY_PASSWORD"]},
              "builder": {"arch": "amd64"},
              "ssh": {"user": "root", "port": sshd.port, "config": str(ssh_config)},
              "accessories": {"cache": {"image": "redis:7", "host": host}}, **(extra or {})}
    (directory / "config").mkdir()
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (directory / ".kamal").mkdir()
    (directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=s3cret-Pa55\n")
    return directory, service


def auto(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CI, "HOME": str(project), "PYTHONPATH": str(ROOT)}
    env.pop("KAMAL_REGISTRY_PASSWORD", None)
    return subprocess.run([sys.executable, "-m", "app", "--auto", *args, "--version", "v1"], cwd=project, env=env,
                          stdin=subprocess.PIPE, capture_output=True, text=True, timeout=120, check=False)


def text(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def project(loopback_sshd, tmp_path: Path):
    directory, service = write_project(tmp_path / "p", loopback_sshd, known_hosts=loopback_sshd.known_hosts,
                                       key=loopback_sshd.client_key)
    yield directory
    subprocess.run(["rm", "-rf", f"/root/.kamal/lock-{service}"], check=False)


def test_done_then_lock_held_then_released(project: Path) -> None:
    taken = auto(project, "lock", "acquire", "-m", "held by a person")
    assert taken.returncode == 0, text(taken)
    held = auto(project, "lock", "acquire", "-m", "another")
    assert held.returncode == 4, text(held)
    assert "Deploy lock found" in text(held) and "held by a person" in text(held)
    released = auto(project, "lock", "release")
    assert released.returncode == 0, text(released)
    assert "s3cret-Pa55" not in text(taken) + text(held) + text(released)


def test_a_confirmation_needed_is_5_and_changes_nothing(project: Path) -> None:
    refused = auto(project, "accessory", "remove", "cache")
    assert refused.returncode == 5, text(refused)
    assert "--confirm=accessory.remove:cache" in text(refused)


def test_a_failed_step_is_1(project: Path) -> None:
    hooks = project / ".kamal" / "hooks"
    hooks.mkdir()
    (hooks / "pre-connect").write_text("#!/bin/sh\necho 'no connections today' >&2\nexit 3\n")
    (hooks / "pre-connect").chmod(0o755)
    failed = auto(project, "lock", "status")
    assert failed.returncode == 1, text(failed)
    assert "pre-connect" in text(failed)


def test_bad_config_is_2(project: Path) -> None:
    path = project / "config" / "deploy.yml"
    path.write_text(path.read_text() + "servants: []\n")
    bad = auto(project, "lock", "status")
    assert bad.returncode == 2, text(bad)
    assert "servants" in text(bad) and "Traceback" not in text(bad)


def test_unknown_host_key_is_3(loopback_sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    directory, _ = write_project(tmp_path / "p", loopback_sshd, known_hosts=empty, key=loopback_sshd.client_key)
    unknown = auto(directory, "lock", "status")
    assert unknown.returncode == 3, text(unknown)
    assert "host key is not known" in text(unknown) and "SSH_KNOWN_HOSTS" in text(unknown)


def test_authentication_refused_is_3(loopback_sshd, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    directory, _ = write_project(tmp_path / "p", loopback_sshd, known_hosts=loopback_sshd.known_hosts, key=stranger)
    refused = auto(directory, "lock", "status")
    assert refused.returncode == 3, text(refused)


def test_unreachable_host_is_3(loopback_sshd, tmp_path: Path) -> None:
    directory, _ = write_project(tmp_path / "p", loopback_sshd, known_hosts=loopback_sshd.known_hosts,
                                 key=loopback_sshd.client_key, host="unreachable.invalid")
    unreachable = auto(directory, "lock", "status")
    assert unreachable.returncode == 3, text(unreachable)
    assert "unreachable.invalid" in text(unreachable)


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A registry that refuses every login (basic authentication)."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Www-Authenticate", 'Basic realm="registry"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_registry_login_refused_is_3_before_anything_changes(loopback_sshd, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        registry = f"127.0.0.1:{server.server_address[1]}"
        directory, service = write_project(tmp_path / "p", loopback_sshd, known_hosts=loopback_sshd.known_hosts,
                                           key=loopback_sshd.client_key,
                                           extra={"registry": {"server": registry, "username": "deployer",
                                                               "password": ["KAMAL_REGISTRY_PASSWORD"]}})
        refused = auto(directory, "deploy")
    finally:
        server.shutdown()
    assert refused.returncode == 3, text(refused)
    assert f"registry {registry} refused the login for deployer" in text(refused)
    assert "s3cret-Pa55" not in text(refused)
    assert not Path(f"/root/.kamal/lock-{service}").exists()


class _Silent(http.server.BaseHTTPRequestHandler):
    """A registry that never answers (until the client gives up)."""

    def do_GET(self) -> None:
        time.sleep(30)

    def log_message(self, *args: object) -> None:
        pass


def test_interrupted_is_130(loopback_sshd, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry = f"127.0.0.1:{server.server_address[1]}"
        directory, _ = write_project(tmp_path / "p", loopback_sshd, known_hosts=loopback_sshd.known_hosts,
                                     key=loopback_sshd.client_key,
                                     extra={"registry": {"server": registry, "username": "deployer",
                                                         "password": ["KAMAL_REGISTRY_PASSWORD"]}})
        env = {**os.environ, **CI, "HOME": str(directory), "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen([sys.executable, "-m", "app", "--auto", "deploy", "--version", "v1"],
                                   cwd=directory, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(4)  # the preflight waits for the registry
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        server.shutdown()
    assert process.returncode == 130, stdout + stderr
    assert "preflight" in stdout + stderr
