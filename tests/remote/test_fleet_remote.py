"""The Fleet against a real sshd (loopback) and this machine's Docker engine, in server mode: host-key
trust on first use through the Confirmer, status() from Kamal's labels, watch() from Docker's event
stream, a dropped connection reconnected (HostDown, HostUp) and logs() across a replaced container
(LogSwitched) and a dropped stream (LogGap). Containers are uniquely named and removed afterwards."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.engine import api
from app.engine.fleet import Fleet
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker, remove

run_id, test_image = fixtures.run_id, fixtures.test_image

LOGGING_SCRIPT = "i=0; while true; do i=$((i+1)); echo {version} line $i; sleep 0.2; done"


class Answers:
    """A Confirmer that answers every request the same way and remembers what it was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.requests: list[api.ConfirmationRequest] = []

    async def confirm(self, request: api.ConfirmationRequest) -> bool:
        self.requests.append(request)
        return self.answer


def ssh_config(tmp_path: Path, sshd, known_hosts: Path) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(f"Host 127.0.0.1\n  IdentityFile {sshd.client_key}\n  IdentitiesOnly yes\n"
                    f"  UserKnownHostsFile {known_hosts}\n")
    return path


@pytest.fixture
async def fleet(loopback_sshd, tmp_path: Path, monkeypatch) -> AsyncIterator[Fleet]:
    """A server-mode fleet on the loopback sshd whose key was trusted on first use."""
    monkeypatch.setenv("HOME", str(tmp_path))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    answers = Answers(True)
    opened = await Fleet.open_servers([f"root@127.0.0.1:{loopback_sshd.port}"], confirmer=answers,
                                      ssh_config=(str(ssh_config(tmp_path, loopback_sshd, empty)),))
    opened.answers = answers  # type: ignore[attr-defined]
    yield opened
    await opened.close()


def labels(service: str, role: str) -> list[str]:
    return ["--label", f"service={service}", "--label", f"role={role}", "--label", "destination"]


def start_app(service: str, version: str, image: str) -> None:
    docker("run", "-d", "--name", f"{service}-web-{version}", *labels(service, "web"), "--stop-timeout", "1", image,
           "sh", "-c", LOGGING_SCRIPT.format(version=version))


async def next_change(changes: AsyncIterator[api.FleetChange], kind: type, timeout: float = 10.0,
                      where=lambda change: True) -> api.FleetChange:
    async with asyncio.timeout(timeout):
        async for change in changes:
            if isinstance(change, kind) and where(change):
                return change
    raise AssertionError("the stream ended")


async def test_an_unknown_host_key_is_trusted_only_after_the_operator_confirms(loopback_sshd, tmp_path: Path,
                                                                               monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = (str(ssh_config(tmp_path, loopback_sshd, empty)),)
    refusing = Answers(False)
    fleet = await Fleet.open_servers([f"127.0.0.1:{loopback_sshd.port}"], confirmer=refusing, ssh_config=config,
                                     connect=False)
    try:
        status = await fleet.status()
    finally:
        await fleet.close()
    host = status.hosts[0]
    assert host.state is api.ConnectionState.HOST_KEY_UNKNOWN and host.fingerprint.startswith("SHA256:")
    assert refusing.requests[0].action == "ssh.trust_host_key"
    assert host.fingerprint in refusing.requests[0].consequence  # the operator saw the fingerprint
    trusted = tmp_path / ".config" / "shipdeck" / "known_hosts"
    assert not trusted.exists()  # nothing trusted silently

    accepting = Answers(True)
    fleet = await Fleet.open_servers([f"127.0.0.1:{loopback_sshd.port}"], confirmer=accepting, ssh_config=config,
                                     connect=False)
    try:
        status = await fleet.status()
    finally:
        await fleet.close()
    assert status.hosts[0].state is api.ConnectionState.UP
    assert loopback_sshd.host_public_key in trusted.read_text()
    assert fleet.connections_opened == 1


async def test_status_finds_kamal_apps_by_their_labels(fleet: Fleet, run_id: str, test_image: str,
                                                       tmp_path: Path) -> None:
    service = f"{run_id}st"
    data = tmp_path / "data"
    data.mkdir()
    (data / "blob").write_bytes(b"x" * 50_000)
    try:
        start_app(service, "v1", test_image)
        docker("run", "-d", "--name", f"{service}-db", "--label", f"service={service}-db", "-v",
               f"{data}:/data", test_image, "sleep", "3600")
        status = await fleet.status()
        host = status.hosts[0]
        assert host.state is api.ConnectionState.UP and host.rtt_ms is not None and host.rtt_ms > 0
        assert host.docker_version and host.disk_free_bytes and host.disk_free_bytes > 0
        assert service in status.services and status.service is None
        app = next(app for app in status.apps if app.service == service)
        assert (app.role, app.version, app.state, app.name) == ("web", "v1", api.ContainerState.RUNNING,
                                                                f"{service}-web-v1")
        assert app.started_at is not None and abs(app.started_at - time.time()) < 120
        db = next(accessory for accessory in status.accessories if accessory.container == f"{service}-db")
        assert db.name == "db" and db.service == service and db.state is api.ContainerState.RUNNING
        storage = db.storage[0]
        assert (storage.kind, storage.source, storage.target) == ("directory", str(data), "/data")
        assert storage.size_bytes is not None and storage.size_bytes >= 50_000

        # Warm snapshots reuse what Docker's events say has not changed, and see what has.
        await fleet.watch_ready()
        await fleet.status()
        began = time.perf_counter()
        await fleet.status()
        warm = time.perf_counter() - began
        docker("stop", f"{service}-web-v1")
        await asyncio.sleep(0.5)  # the event's way back over the connection
        stopped = next(app for app in (await fleet.status()).apps if app.name == f"{service}-web-v1")
        assert stopped.state is api.ContainerState.EXITED
        assert warm < 1.0
    finally:
        remove(f"{service}-web-v1", f"{service}-db")


async def test_watch_sees_containers_at_once_and_survives_a_dropped_connection(fleet: Fleet, run_id: str,
                                                                               test_image: str) -> None:
    service = f"{run_id}wa"
    changes = fleet.watch()
    try:
        await fleet.watch_ready()
        began = time.time()
        start_app(service, "v1", test_image)
        started = await next_change(changes, api.ContainerStarted, where=lambda c: c.service == service)
        assert started.version == "v1" and started.kind is api.ContainerKind.APP
        assert time.time() - began < 3  # `docker run` itself included
        assert started.at >= began - 1

        remote = fleet.pool[fleet.hosts[0]]
        await remote.run("kill -9 $PPID", check=False)  # the server drops our connection
        down = await next_change(changes, api.HostDown)
        assert down.host == fleet.hosts[0]
        await next_change(changes, api.HostUp, timeout=15)
        assert fleet.connection_state(fleet.hosts[0]) is api.ConnectionState.UP
        assert fleet.connections_opened == 2  # one reconnect, nothing else

        docker("stop", f"{service}-web-v1")
        stopped = await next_change(changes, api.ContainerStopped, where=lambda c: c.service == service)
        assert stopped.container == f"{service}-web-v1"
    finally:
        await changes.aclose()  # type: ignore[attr-defined]
        remove(f"{service}-web-v1")


async def test_logs_follow_a_replacement_container_and_mark_a_dropped_stream(fleet: Fleet, run_id: str,
                                                                             test_image: str) -> None:
    service = f"{run_id}lg"
    seen: list[api.LogEvent] = []
    try:
        start_app(service, "v1", test_image)
        await asyncio.sleep(0.5)
        stream = fleet.logs([api.LogSource.app("web")], follow=True, tail=2, grep="^v[12] line")

        async def read_until(predicate, timeout: float = 15.0) -> None:
            async with asyncio.timeout(timeout):
                async for event in stream:
                    seen.append(event)
                    if predicate(event):
                        return

        await read_until(lambda e: isinstance(e, api.LogLine) and e.container == f"{service}-web-v1")
        start_app(service, "v2", test_image)  # a deploy: the new container of the same role
        await read_until(lambda e: isinstance(e, api.LogLine) and e.container == f"{service}-web-v2")
        switched = [e for e in seen if isinstance(e, api.LogSwitched) and e.new_container == f"{service}-web-v2"]
        assert switched and switched[0].old_container == f"{service}-web-v1" and switched[0].role == "web"

        remote = fleet.pool[fleet.hosts[0]]
        await remote.run("kill -9 $PPID", check=False)
        await read_until(lambda e: isinstance(e, api.LogGap) and e.until is not None)
        await read_until(lambda e: isinstance(e, api.LogLine) and e.container == f"{service}-web-v2")
        gap = next(e for e in seen if isinstance(e, api.LogGap))
        assert gap.container in (f"{service}-web-v1", f"{service}-web-v2") and gap.until >= gap.since
        lines = [e for e in seen if isinstance(e, api.LogLine) and e.container == f"{service}-web-v2"]
        numbers = [int(line.text.split()[-1]) for line in lines]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # resumed without repeats
        assert all(line.timestamp is not None and line.role == "web" for line in lines)
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        remove(f"{service}-web-v1", f"{service}-web-v2")


@pytest.mark.parametrize("follow", [False, True], ids=["tail", "follow"])
async def test_logs_name_a_host_that_refuses_connections_and_still_read_the_others(
        loopback_sshd, tmp_path: Path, monkeypatch, run_id: str, test_image: str, follow: bool) -> None:
    """A second server whose SSH port refuses connections: a LogUnreachable names it with the reason, the first
    server's lines still come, and the dashboard's adapter turns the event into a marker naming the host."""
    from app.logview import model
    from app.logview.layout import entry_text
    from app.tui.log_feed import LogFeed
    from tests.remote.conftest import _free_port

    monkeypatch.setenv("HOME", str(tmp_path))
    trusted = tmp_path / "known_hosts"
    trusted.write_text("")
    refusing = f"127.0.0.2:{_free_port()}"  # loopback, nothing listening
    fleet = await Fleet.open_servers([f"root@127.0.0.1:{loopback_sshd.port}", f"root@{refusing}"],
                                     confirmer=Answers(True),
                                     ssh_config=(str(ssh_config(tmp_path, loopback_sshd, trusted)),))
    service = f"{run_id}ur"
    seen: list[api.LogEvent] = []
    try:
        start_app(service, "v1", test_image)
        await asyncio.sleep(1.0)
        stream = fleet.logs([api.LogSource.app("web")], follow=follow, tail=5)
        async with asyncio.timeout(30):
            async for event in stream:
                seen.append(event)
                if follow and any(isinstance(e, api.LogUnreachable) for e in seen) and any(
                        isinstance(e, api.LogLine) and e.container == f"{service}-web-v1" for e in seen):
                    break
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        remove(f"{service}-web-v1")
        await fleet.close()
    unreachable = [event for event in seen if isinstance(event, api.LogUnreachable)]
    assert [event.host for event in unreachable] == ["127.0.0.2"], seen[:5]
    assert "Connection refused" in unreachable[0].reason, unreachable[0].reason
    assert unreachable[0].sources == (api.LogSource.app("web"),)
    lines = [event for event in seen if isinstance(event, api.LogLine)]
    assert all(line.host == "127.0.0.1" for line in lines)
    assert any(line.container == f"{service}-web-v1" and line.text.startswith("v1 line") for line in lines)
    marker = LogFeed().entry(unreachable[0])
    assert isinstance(marker, model.Unreachable) and marker.source.host == "127.0.0.2"
    assert entry_text(marker).startswith("── ✖ unreachable: cannot read 127.0.0.2: ")
    assert "Connection refused" in entry_text(marker)
