"""Small process, mount and namespace helpers for the sandbox (Linux, root)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from app.errors import ShipdeckError, UsageError


class SandboxError(ShipdeckError):
    """A sandbox step failed; the message says which and why."""


def require_root_linux() -> None:
    """Refuse, with one line, on anything but Linux as root."""
    if not sys.platform.startswith("linux"):
        raise UsageError(f"the sandbox needs Linux (network and mount namespaces); this is {sys.platform}")
    if os.geteuid() != 0:
        raise UsageError("the sandbox needs root (it creates namespaces, a bridge and daemons); "
                         "run it as root")


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True, timeout: float = 120,
        env: dict[str, str] | None = None, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output; on failure raise SandboxError with its stderr (never its input)."""
    try:
        result = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout,
                                env=env, cwd=cwd, check=False)
    except FileNotFoundError as error:
        raise SandboxError(f"{argv[0]} is not installed (run .ci/install-deps)") from error
    except subprocess.TimeoutExpired as error:
        raise SandboxError(f"`{' '.join(argv)}` took longer than {timeout:.0f} s") from error
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit status {result.returncode}"
        raise SandboxError(f"`{' '.join(argv)}` failed: {last}")
    return result


def spawn_daemon(argv: Sequence[str], log_path: Path, *, env: dict[str, str] | None = None) -> int:
    """Start a long-running process detached from us (own session, output to `log_path`); return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        process = subprocess.Popen(list(argv), stdin=devnull, stdout=log, stderr=log, cwd="/",
                                   start_new_session=True, env=env, close_fds=True)
    return process.pid


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def pid_from_file(pid_file: Path, marker: str) -> int | None:
    """The pid in `pid_file` if that process is alive and its command line contains `marker`."""
    pid = read_pid(pid_file)
    if pid and pid_alive(pid) and marker in cmdline(pid):
        return pid
    return None


def pids_with_cmdline(marker: str) -> list[int]:
    """Live processes whose command line contains `marker` (e.g. a config file path of ours)."""
    own = os.getpid()
    return [pid for pid in all_pids() if pid != own and pid_alive(pid) and marker in cmdline(pid)]


def terminate(pids: Sequence[int], *, grace: float = 10.0) -> None:
    """SIGTERM the given processes, wait up to `grace` seconds, then SIGKILL what is left."""
    alive = [pid for pid in pids if pid_alive(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if pid_alive(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if pid_alive(pid)]


def all_pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def namespace_id(path: str | Path) -> tuple[int, int] | None:
    """(device, inode) identifying the namespace behind a /proc/<pid>/ns/* link or a bound ns file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def pids_in_namespace(ns_file: Path, kind: str) -> list[int]:
    """Pids of processes whose `kind` namespace (net, mnt, uts) is the one bound at `ns_file`."""
    target = namespace_id(ns_file)
    if target is None or not is_mount_point(ns_file):
        return []
    own = os.getpid()
    return [pid for pid in all_pids() if pid != own and namespace_id(f"/proc/{pid}/ns/{kind}") == target]


def mount_points() -> list[str]:
    """Mount points of our mount namespace, innermost last (as /proc/self/mountinfo lists them)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        points.append(fields[4].encode().decode("unicode_escape"))
    return points


def is_mount_point(path: str | Path) -> bool:
    return os.path.realpath(path) in mount_points()


def unmount_all_under(path: Path) -> None:
    """Unmount (lazily, innermost first) every mount at or below `path`."""
    base = os.path.realpath(path)
    for point in reversed(mount_points()):
        if point == base or point.startswith(base + "/"):
            run(["umount", "-l", point], check=False)


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str,
             log_hint: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    hint = f" (see {log_hint})" if log_hint else ""
    raise SandboxError(f"{what} did not come up within {timeout:.0f} s{hint}")


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unix_http_ok(socket_path: Path, path: str = "/_ping", timeout: float = 2.0) -> bool:
    """True when an HTTP server on the unix socket (a docker engine) answers `path` with 200."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.") and b" 200 " in head[:16]


def write_file(path: Path, content: str, mode: int = 0o644) -> bool:
    """Write `content` with `mode` unless identical content is there; True when the file changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_text() == content:
            os.chmod(path, mode)
            return False
    except OSError:
        pass
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
    return True


@contextlib.contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """One holder at a time on this machine: an flock on `lock_file` (tests and the sandbox may build at once)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
