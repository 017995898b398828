"""A real sshd on loopback, for fast tests of the SSH/Docker layer without the sandbox fleet."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass
class LoopbackSSHD:
    port: int
    client_key: Path
    known_hosts: Path
    host_public_key: str
    workdir: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_sshd(workdir: Path, extra: str = "") -> LoopbackSSHD:
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / name)], check=True)
    port = _free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\n"
        f"HostKey {workdir / 'host_key'}\n"
        f"PidFile {workdir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {workdir / 'client_key.pub'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n" + extra
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    subprocess.run([SSHD, "-f", str(config)], check=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    public = (workdir / "host_key.pub").read_text().split()
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
    return LoopbackSSHD(port, workdir / "client_key", known_hosts, f"{public[0]} {public[1]}", workdir)


def _stop(workdir: Path) -> None:
    pid_file = workdir / "sshd.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def loopback_sshd() -> Iterator[LoopbackSSHD]:
    if os.geteuid() != 0 or not Path(SSHD).exists():
        pytest.fail("these tests need root and openssh-server (make test installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="shipdeck-sshd-"))
    yield _start_sshd(workdir)
    _stop(workdir)


@pytest.fixture(scope="session")
def loopback_sshd_no_forwarding() -> Iterator[LoopbackSSHD]:
    workdir = Path(tempfile.mkdtemp(prefix="shipdeck-sshd-nofwd-"))
    yield _start_sshd(workdir, "AllowStreamLocalForwarding no\n")
    _stop(workdir)
