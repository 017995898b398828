"""One server: a single SSH connection reused for shell commands, file transfer and Docker.

Docker is driven over the host's `/var/run/docker.sock` through that same connection: plain requests on
SSH channels straight to the socket (`engine_channels`), streams with aiodocker through the socket
forwarded into a private local socket (a 0700 directory: the socket is root on the server).
Shell commands are kept for the few steps that need them; files (env files, lock, audit log) go
over SFTP so that secret values never appear in a command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import aiodocker
import aiohttp
import asyncssh

from app.remote.engine_channels import ChannelDocker, EngineChannels
from app.remote.errors import CommandFailed, DockerUnavailable, HostKeyUnknown, HostUnreachable, RemoteError
from app.remote.ssh import SSHTarget, jump_target, open_connection, trust_host_key
from app.secrets.masking import mask

REMOTE_DOCKER_SOCKET = "/var/run/docker.sock"
# A dial that failed this recently is not repeated: the steps waiting on it (a pull and a login started
# together) share its error instead of each waiting out their own timeout. Later uses dial again.
REDIAL_AFTER = 2.0

# Connection states (the engine's ConnectionState values): before the first attempt a host is idle.
IDLE, CONNECTING, UP, FAILED, HOST_KEY_UNKNOWN = "idle", "connecting", "up", "failed", "host-key-unknown"

HostKeyConfirmer = Callable[[HostKeyUnknown], Awaitable[bool]]
T = TypeVar("T")

# On an open file a request goes out when it is made, without waiting for the answer to the one before,
# and the server carries out the requests on one handle in the order they arrive (the SFTP protocol
# promises that much). So the requests on a small file (its mode, its bytes, its close) travel
# together: one round trip after the open where there were one each, which is what counts on a distant
# server. Above this size asyncssh splits the bytes into parallel requests of its own, so those files
# keep the plain way.
ONE_REQUEST_BYTES = 32768


async def _in_order(*requests: Awaitable[Any]) -> list[Any]:
    """Start the file requests in the order given (each is sent before the next starts: gather starts its
    tasks in order) and wait for every answer; then raise the first failure, if any."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return answers


async def _write_and_close(sftp: asyncssh.SFTPClient, path: str, mode_flags: str, data: bytes,
                           attrs: asyncssh.SFTPAttrs | None = None, *, mode: int | None = None) -> None:
    """Open `path` (`wb` or `ab`), set `mode` if given, write `data`, close: after the open one round trip for a
    small file (`_in_order`), the plain way above ONE_REQUEST_BYTES."""
    small = len(data) <= ONE_REQUEST_BYTES
    handle = await sftp.open(path, mode_flags, attrs or asyncssh.SFTPAttrs(), block_size=0 if small else -1)
    requests = [*([handle.chmod(mode)] if mode is not None else []), *([handle.write(data)] if data else [])]
    if small:
        await _in_order(*requests, handle.close())
        return
    try:
        await asyncio.gather(*requests)
    finally:
        await handle.close()


@dataclass
class RemoteStats:
    """Counts of what crossed the network, for benchmarks and `--verbose` summaries."""

    connections: int = 0
    commands: int = 0
    file_operations: int = 0
    docker_requests: int = 0

    @property
    def round_trips(self) -> int:
        return self.commands + self.file_operations + self.docker_requests

    def add(self, other: RemoteStats) -> None:
        self.connections += other.connections
        self.commands += other.commands
        self.file_operations += other.file_operations
        self.docker_requests += other.docker_requests


@dataclass(frozen=True)
class CommandResult:
    exit_status: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class RemoteHost:
    """A host reached over one lazily opened SSH connection."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self.name = target.host
        self.stats = RemoteStats()
        self.state = IDLE
        self.error: str | None = None  # why the last attempt failed (or the connection dropped)
        self.fingerprint: str | None = None  # the key waiting for the operator's confirmation
        self.docker_info: dict | None = None  # `docker version` of the engine, read when Docker was opened
        # Told of every state change (a Fleet turns them into HostUp/HostDown and status).
        self.on_state: Callable[[RemoteHost], None] | None = None
        # Asked when the server's key is in no known_hosts source: True records it and connects.
        self.confirm_host_key: HostKeyConfirmer | None = None
        self._lost = asyncio.Event()
        self._connection: asyncssh.SSHClientConnection | None = None
        self._tunnel: asyncssh.SSHClientConnection | None = None  # the jump host's connection (ssh.proxy)
        self._connect_lock = asyncio.Lock()
        self._failure: tuple[float, Exception] | None = None  # (monotonic time, error) of the last failed dial
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_lock = asyncio.Lock()
        self._home: str | None = None  # the SSH user's home, asked once per SFTP session
        self._docker: ChannelDocker | None = None
        self._docker_lock = asyncio.Lock()
        self._socket_dir: str | None = None
        self._listener: asyncssh.SSHListener | None = None
        # Directories made or found here before: later mkdirs of them cost nothing. A Fleet keeps its hosts for
        # its whole life, so one may be gone since (`kamal remove`, an operator): a write that finds no such
        # directory makes it again (`_in_directory`).
        self._known_dirs: set[str] = set()
        self._queued_lines: deque[tuple[str, str]] = deque()  # (path, line) for `append_line_soon`
        self._line_writer: asyncio.Task[None] | None = None

    # -- connection -----------------------------------------------------------------------------

    def _set_state(self, state: str, error: str | None = None) -> None:
        changed = (state, error) != (self.state, self.error)
        self.state, self.error = state, error
        if changed and self.on_state is not None:
            self.on_state(self)

    async def connection(self) -> asyncssh.SSHClientConnection:
        async with self._connect_lock:
            if self._connection is None:
                if self._failure is not None and time.monotonic() - self._failure[0] < REDIAL_AFTER:
                    raise self._failure[1]  # steps that queued behind a failed dial fail with it, at once
                self._set_state(CONNECTING, self.error)
                try:
                    self._connection = await self._open()
                except HostKeyUnknown as error:
                    self.fingerprint = error.fingerprint
                    self._set_state(HOST_KEY_UNKNOWN, str(error))
                    raise
                except Exception as error:
                    self._failure = (time.monotonic(), error)
                    self._set_state(FAILED, str(error))
                    raise
                self._failure = None
                self.fingerprint = None
                self._lost.clear()
                self._set_state(UP)
            return self._connection

    async def _open(self) -> asyncssh.SSHClientConnection:
        jump = jump_target(self.target)
        if jump is not None and self._tunnel is None:
            try:
                self._tunnel = await open_connection(jump)
                self.stats.connections += 1
            except RemoteError as error:
                raise HostUnreachable(self.name, f"through jump host {jump.host}: {error}") from error
        try:
            connection = await open_connection(self.target, self._tunnel, on_lost=self._connection_lost)
        except HostKeyUnknown as error:
            # Trust on first use, only with the operator's word: the fingerprint is shown, nothing is
            # recorded unless the confirmer says yes.
            if self.confirm_host_key is None or not error.known_hosts_line or not await self.confirm_host_key(error):
                raise
            trust_host_key(self.target, error.known_hosts_line)
            connection = await open_connection(self.target, self._tunnel, on_lost=self._connection_lost)
        self.stats.connections += 1
        return connection

    def _connection_lost(self, error: Exception | None) -> None:
        """The SSH connection dropped under us (not closed by us): forget everything that rode on it so
        the next use reconnects."""
        if self._connection is None:
            return
        self._connection = None
        self._discard_channels()
        self._lost.set()
        self._set_state(FAILED, f"connection lost: {error}" if error else "connection closed by the server")

    async def wait_lost(self) -> None:
        """Return once the current connection has dropped."""
        await self._lost.wait()

    async def unless_lost(self, work: Awaitable[T]) -> T:
        """Await `work` (e.g. reading a stream through the forwarded docker socket); if the connection
        drops first, cancel it and raise HostUnreachable (a stream through a lost tunnel may never end)."""
        task = asyncio.ensure_future(work)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if not task.done() or task.cancelled():
            raise HostUnreachable(self.name, self.error or "connection lost")
        return task.result()

    def _discard_channels(self) -> None:
        docker, self._docker = self._docker, None
        if docker is not None:
            task = asyncio.ensure_future(_close_docker(docker))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._sftp = None
        self._home = None
        if self._tunnel is not None:
            self._tunnel.close()
            self._tunnel = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    async def round_trip(self) -> float:
        """Milliseconds for the smallest request the host's Docker engine answers (`GET /_ping`), over
        the open connection, the way plain requests go (`engine_channels`)."""
        docker = await self.docker()
        began = time.perf_counter()
        await docker.channels.request("GET", "_ping")
        return (time.perf_counter() - began) * 1000

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.settle()
        self._lost.clear()
        if self._docker is not None:
            with contextlib.suppress(Exception):
                await self._docker.close()
                await self._docker.session.close()  # ours (the socket forward's), not closed by aiodocker
            self._docker = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
            self._home = None
        if self._connection is not None:
            connection, self._connection = self._connection, None  # first: a close by us is no loss
            connection.close()
            with contextlib.suppress(Exception):
                await connection.wait_closed()
        if self._tunnel is not None:
            self._tunnel.close()
            with contextlib.suppress(Exception):
                await self._tunnel.wait_closed()
            self._tunnel = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # -- shell commands -------------------------------------------------------------------------

    async def run(
        self, command: str, *, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> CommandResult:
        """Run a shell command in the SSH user's home, as Kamal does. Secrets go in `input`, never `command`."""
        connection = await self.connection()
        self.stats.commands += 1
        try:
            completed = await connection.run(command, input=input, check=False, timeout=timeout,
                                             request_pty=False)
        except asyncssh.TimeoutError as error:
            raise CommandFailed(self.name, mask(command), None, f"timed out after {timeout}s") from error
        except (asyncssh.Error, OSError) as error:
            raise HostUnreachable(self.name, f"connection lost while running `{mask(command)}`: {error}") \
                from error
        result = CommandResult(completed.exit_status, _text(completed.stdout), _text(completed.stderr))
        if check and not result.ok:
            raise CommandFailed(self.name, mask(command), result.exit_status, mask(result.stderr or result.stdout))
        return result

    async def stream(self, command: str) -> AsyncIterator[str]:
        """Yield a command's output lines (stdout and stderr merged) as they arrive."""
        connection = await self.connection()
        self.stats.commands += 1
        async with connection.create_process(command, request_pty=False, stderr=asyncssh.STDOUT) as process:
            async for line in process.stdout:
                yield line.rstrip("\n")

    async def http_status(self, address: str, port: int, path: str, timeout: float = 1.0) -> int | None:
        """The status of `GET path` on address:port as seen from the host (a TCP channel of the SSH
        connection, nothing run on the host); None when nothing answers in time."""
        connection = await self.connection()
        self.stats.commands += 1
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await connection.open_connection(address, port)
                try:
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: {address}:{port}\r\nUser-Agent: shipdeck\r\n"
                                 "Connection: close\r\n\r\n".encode())
                    status_line = await reader.readline()
                finally:
                    writer.close()
        except (TimeoutError, OSError, asyncssh.Error):
            return None
        parts = status_line.split()
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None

    # -- files ----------------------------------------------------------------------------------

    async def sftp(self) -> asyncssh.SFTPClient:
        async with self._sftp_lock:
            if self._sftp is None:
                connection = await self.connection()
                self._sftp = await connection.start_sftp_client()
                self.stats.file_operations += 1
            return self._sftp

    async def home(self) -> str:
        """The SSH user's home directory (where Kamal's commands run): one SFTP request per session."""
        sftp = await self.sftp()
        if self._home is None:
            self.stats.file_operations += 1
            self._home = await sftp.realpath(".")
        return self._home

    async def makedirs(self, path: str, *, recheck: bool = False) -> None:
        """`mkdir -p`; remembered, so repeated calls cost nothing (`recheck` looks again: for a directory that
        is used before anything is written into it, such as an accessory's, which a write could not mend).

        One `stat` first: a directory that is already there (every deploy after the first) then costs one
        round trip, where creating it part by part costs one per path component."""
        if path in self._known_dirs and not recheck:
            return
        sftp = await self.sftp()
        self.stats.file_operations += 1
        if not await sftp.isdir(path):
            self.stats.file_operations += 1
            await sftp.makedirs(path, exist_ok=True)
        self._known_dirs.add(path)

    async def _in_directory(self, path: str, write: Callable[[], Awaitable[T]]) -> T:
        """`write` (which creates `path`) after `mkdir -p` of its folder. When the folder was remembered
        but has gone since, the write finds no such file: the folder is made again and the write retried
        once (nothing was written by the failed attempt)."""
        parent = str(PurePosixPath(path).parent)
        if parent in ("", "."):
            return await write()
        remembered = parent in self._known_dirs
        await self.makedirs(parent)
        try:
            return await write()
        except asyncssh.SFTPNoSuchFile:
            if not remembered:
                raise
            self.forget_directory(parent)
            await self.makedirs(parent)
            return await write()

    def forget_directory(self, path: str) -> None:
        """Call after removing a directory (or a parent) so a later makedirs really creates it."""
        self._known_dirs = {known for known in self._known_dirs if known != path and not known.startswith(path + "/")}

    async def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        """Create or replace a file with the given mode; the mode is set before any byte is written."""
        sftp = await self.sftp()
        attrs = asyncssh.SFTPAttrs(permissions=mode)

        async def write() -> None:
            self.stats.file_operations += 1
            # The mode too (for a file that already existed), sent before the bytes so it is set before any lands.
            await _write_and_close(sftp, path, "wb", data, attrs, mode=mode)

        await self._in_directory(path, write)

    async def append_lines(self, path: str, lines: list[str]) -> None:
        """Append the lines to the file (created if missing): an open, then the write and the close together."""
        sftp = await self.sftp()
        self.stats.file_operations += 1
        payload = b"".join(line.rstrip("\n").encode() + b"\n" for line in lines)
        await _write_and_close(sftp, path, "ab", payload)

    def append_line_soon(self, path: str, line: str) -> None:
        """Queue a line to append to `path` (its folder created first) and return at once.

        For the audit log: a line records a step and need not hold it up (each append is three round
        trips). One writer per host appends queued lines in order, those queued meanwhile for the same
        file in one write. `settle()` waits until all are written; a run settles before it releases the
        deploy lock, runs a hook and finishes, so the servers see the lines where Kamal writes them.
        """
        self._queued_lines.append((path, line))
        if self._line_writer is None or self._line_writer.done():
            self._line_writer = asyncio.get_running_loop().create_task(self._write_queued_lines(),
                                                                       name=f"append lines on {self.name}")

    async def _write_queued_lines(self) -> None:
        path = ""
        try:
            while self._queued_lines:
                path = self._queued_lines[0][0]
                lines = []
                while self._queued_lines and self._queued_lines[0][0] == path:
                    lines.append(self._queued_lines.popleft()[1])
                await self._in_directory(path, functools.partial(self.append_lines, path, lines))
        except (asyncssh.Error, OSError) as error:
            raise RemoteError(self.name, f"appending to {path} failed: {error}") from error
        finally:
            self._queued_lines.clear()  # empty already, unless a write failed: later lines would land out of order

    async def settle(self) -> None:
        """Wait until every line queued by `append_line_soon` is written; raise the error of a failed write
        (once). Cancelling the caller does not stop the writer."""
        while (writer := self._line_writer) is not None:
            try:
                await asyncio.shield(writer)
            finally:
                if self._line_writer is writer and writer.done():
                    self._line_writer = None

    async def read_file(self, path: str) -> bytes | None:
        found = await self.read_file_and_mode(path)
        return None if found is None else found[0]

    async def read_file_and_mode(self, path: str) -> tuple[bytes, int] | None:
        """The file's content and permission bits (`0o600`), None when it does not exist: the open, then
        its size and mode, the bytes and the close together (`_in_order`)."""
        sftp = await self.sftp()
        self.stats.file_operations += 1
        try:
            handle = await sftp.open(path, "rb", block_size=0)
            attrs, data, _ = await _in_order(handle.stat(), handle.read(ONE_REQUEST_BYTES, 0), handle.close())
            if attrs.size is None or len(data) < attrs.size:  # more than one request holds: read it all
                async with sftp.open(path, "rb") as handle:
                    attrs = await handle.stat()
                    data = b"" if attrs.size == 0 else await handle.read(-1 if attrs.size is None else attrs.size)
            return data, (attrs.permissions or 0) & 0o7777
        except asyncssh.SFTPNoSuchFile:
            return None

    async def remove_directory(self, path: str, files: Sequence[str] = ()) -> bool:
        """Remove `files` (those that exist) and then the directory `path`, emptied by that; False when the
        directory was not there. No separate existence checks: each is a round trip."""
        sftp = await self.sftp()
        self.stats.file_operations += 1
        for file in files:
            with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                await sftp.remove(file)
        try:
            await sftp.rmdir(path)
        except asyncssh.SFTPNoSuchFile:
            return False
        return True

    async def mkdir_exclusive(self, path: str) -> bool:
        """Atomic `mkdir` (the lock primitive): True if created, False if it already existed. Its folder is
        made first, and again if it was remembered and has gone (`_in_directory`)."""
        sftp = await self.sftp()

        async def make() -> bool:
            self.stats.file_operations += 1
            try:
                await sftp.mkdir(path)
            except asyncssh.SFTPFailure:
                if await sftp.exists(path):
                    return False
                raise
            except asyncssh.SFTPFileAlreadyExists:
                return False
            return True

        return await self._in_directory(path, make)

    # -- docker ---------------------------------------------------------------------------------

    async def docker(self) -> ChannelDocker:
        """The host's engine: aiodocker through the forwarded socket, plain requests on channels of their own
        (opened once)."""
        async with self._docker_lock:
            if self._docker is None:
                self._docker = await self._open_docker()
            return self._docker

    async def _open_docker(self) -> ChannelDocker:
        connection = await self.connection()
        self._socket_dir = tempfile.mkdtemp(prefix="shipdeck-docker-")  # mkdtemp makes it 0700
        local_socket = str(Path(self._socket_dir) / "docker.sock")
        try:
            self._listener = await connection.forward_local_path(local_socket, REMOTE_DOCKER_SOCKET)
        except (asyncssh.Error, OSError) as error:
            raise DockerUnavailable(self.name, f"cannot forward the docker socket: {error}") from error
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._count_docker_request)
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(local_socket), trace_configs=[trace])
        # One `GET /version` both checks the engine and names the API version to speak: aiodocker's own
        # "auto" would ask for it a second time, before its first request.
        try:
            async with session.get("http://docker/version") as response:
                response.raise_for_status()
                self.docker_info = await response.json()
            api_version = f"v{self.docker_info['ApiVersion']}"
        except (aiohttp.ClientError, OSError, ValueError, KeyError, TypeError) as error:
            await session.close()
            raise DockerUnavailable(self.name, await self._explain_docker_failure()) from error
        channels = EngineChannels(functools.partial(connection.open_unix_connection, REMOTE_DOCKER_SOCKET),
                                  api_version, on_request=self._count_plain_request)
        return ChannelDocker(channels, url=f"unix://{local_socket}", session=session, api_version=api_version)

    async def docker_channel(self) -> tuple[asyncssh.SSHReader, asyncssh.SSHWriter]:
        """A connection of its own to the host's docker socket: an SSH channel straight to it, no local socket
        or HTTP client in between (for a long stream read in bulk, e.g. followed logs)."""
        connection = await self.connection()
        self.stats.docker_requests += 1
        try:
            return await connection.open_unix_connection(REMOTE_DOCKER_SOCKET)
        except (asyncssh.Error, OSError) as error:
            raise DockerUnavailable(self.name, f"cannot open a channel to the docker socket: {error}") from error

    async def _count_docker_request(self, *_args: object) -> None:
        self._count_plain_request()  # aiohttp's trace hook, for the streams

    def _count_plain_request(self) -> None:
        self.stats.docker_requests += 1

    async def _explain_docker_failure(self) -> str:
        """Say precisely why the forwarded socket does not answer (one extra command, on failure only)."""
        probe = await self.run(
            f"if [ ! -S {REMOTE_DOCKER_SOCKET} ]; then echo missing; "
            f"elif [ ! -w {REMOTE_DOCKER_SOCKET} ]; then echo denied; else echo ok; fi",
            check=False,
        )
        verdict = probe.stdout.strip()
        user = self.target.user
        if verdict == "missing":
            return f"{REMOTE_DOCKER_SOCKET} does not exist: is Docker installed and running on the host?"
        if verdict == "denied":
            return (f"user {user!r} cannot use {REMOTE_DOCKER_SOCKET}: add it to the docker group "
                    f"(`usermod -aG docker {user}`) or connect as root")
        return ("the docker socket exists and is writable, but the SSH server refuses to forward it: "
                "allow stream-local forwarding in sshd_config (`AllowStreamLocalForwarding yes`, and no "
                "`DisableForwarding yes`) and reload sshd")


async def _close_docker(docker: aiodocker.Docker) -> None:
    with contextlib.suppress(Exception):
        await docker.close()
    with contextlib.suppress(Exception):
        await docker.session.close()  # ours (the socket forward's), not closed by aiodocker


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)
