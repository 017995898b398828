"""A throw-away PostgreSQL cluster per test: initdb into a temporary directory, run as an unprivileged
user on a free loopback port and a private socket directory, stopped and deleted afterwards.

Host (TCP) connections use scram-sha-256 and local (socket) connections trust, as in the official image.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SUPERUSER = "postgres"


def bindir() -> Path:
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail("PostgreSQL server binaries are needed (.ci/install-deps installs the postgresql package)")
    return Path(os.path.realpath(initdb)).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One running cluster; `run` executes a command as the cluster's OS user with a clean environment."""

    def __init__(self, base: Path, initial_password: str) -> None:
        self.base = base
        self.data = base / "data"
        self.log = base / "server.log"
        self.port = _free_port()
        self.bin = bindir()
        self.os_user = None
        if os.geteuid() == 0:
            self.os_user = pwd.getpwnam("postgres" if _has_user("postgres") else "nobody")
            os.chown(base, self.os_user.pw_uid, self.os_user.pw_gid)
        password_file = base / "initial-password"
        password_file.write_text(initial_password + "\n")
        if self.os_user:
            os.chown(password_file, self.os_user.pw_uid, self.os_user.pw_gid)
        self.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8", "--no-locale"])
        password_file.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={base} "
                   "-c log_statement=all -c password_encryption=scram-sha-256")
        self.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-o", options,
                  "start"])

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.base), "LC_ALL": "C.UTF-8", **extra}

    def run(self, argv: list[str], *, stdin: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        user = {} if self.os_user is None else {"user": self.os_user.pw_uid, "group": self.os_user.pw_gid,
                                                 "extra_groups": []}
        result = subprocess.run(argv, input=stdin, capture_output=True, env=env or self.env(), cwd=self.base,
                                timeout=60, check=False, **user)
        if check and result.returncode != 0:
            raise AssertionError(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
        return result

    def local(self, command: tuple[str, ...]) -> list[str]:
        """A command built for the official image's socket (/var/run/postgresql) pointed at this cluster."""
        argv = [str(self.base) if part == "/var/run/postgresql" else part for part in command]
        return [str(self.bin / argv[0]), *argv[1:], "-p", str(self.port)]

    def sql(self, text: str) -> str:
        """SQL as the superuser over the socket (trust)."""
        result = self.run([str(self.bin / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", str(self.base),
                           "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"], stdin=text.encode())
        return result.stdout.decode()

    def tcp_login(self, password: str, user: str = SUPERUSER) -> subprocess.CompletedProcess[bytes]:
        """psql over TCP (scram-sha-256) with the password in PGPASSWORD, never in argv."""
        return self.run([str(self.bin / "psql"), "-X", "-w", "-tA", "-h", "127.0.0.1", "-p", str(self.port),
                         "-U", user, "-d", "postgres", "-c", "SELECT current_user"],
                        env=self.env(PGPASSWORD=password), check=False)

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], check=False)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def make_cluster() -> Iterator[Callable[[str], Cluster]]:
    made: list[Cluster] = []
    bases: list[Path] = []

    def make(initial_password: str) -> Cluster:
        base = Path(tempfile.mkdtemp(prefix="shipdeck-pg-"))
        bases.append(base)
        os.chmod(base, 0o700)
        cluster = Cluster(base, initial_password)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
    for base in bases:
        shutil.rmtree(base, ignore_errors=True)
