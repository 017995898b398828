"""app_docker's start/stop/logs (used for app, accessory and proxy containers) through a RemoteHost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.remote import app_docker
from app.remote.docker_errors import DockerCommandError
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker, inspect, remove

run_id, test_image = fixtures.run_id, fixtures.test_image


@pytest.fixture
async def remote(loopback_sshd) -> AsyncIterator[RemoteHost]:
    host = RemoteHost(SSHTarget(host="127.0.0.1", port=loopback_sshd.port, keys=(str(loopback_sshd.client_key),),
                                keys_only=True, config=False, known_hosts=(str(loopback_sshd.known_hosts),)))
    yield host
    await host.close()


async def test_stop_start_logs_and_follow(remote, run_id, test_image) -> None:
    name = f"{run_id}-appdocker"
    script = "echo out1; echo err1 >&2; sleep 1; echo late; sleep 3600"
    try:
        docker("run", "-d", "--name", name, "--stop-timeout", "1", test_image, "sh", "-c", script)
        await asyncio.sleep(0.5)
        assert sorted(await app_docker.logs(remote, name, since="1h")) == ["err1", "out1"]
        assert len(await app_docker.logs(remote, name, tail=1)) == 1
        followed = []
        async for line in app_docker.follow_logs(remote, name, tail=10, timestamps=False):
            followed.append(line)
            if line == "late":
                break
        assert followed[-1] == "late"
        await app_docker.stop(remote, name)  # no -t: the container's own stop timeout
        assert inspect(name)["State"]["Status"] == "exited"
        await app_docker.start(remote, name)
        assert inspect(name)["State"]["Status"] == "running"
        with pytest.raises(DockerCommandError, match=f"Error response from daemon: No such container: {name}x"):
            await app_docker.start(remote, f"{name}x")
    finally:
        remove(name)


async def test_log_batches_over_their_own_channel_match_docker_logs(remote, run_id, test_image) -> None:
    """stream_log_batches (the bulk reader over a direct socket channel) gives what `docker logs --timestamps`
    gives: both streams, tail, follow to the container's end, and the CLI's error for a missing container."""
    name = f"{run_id}-logbatches"
    script = "i=0; while [ $i -lt 3000 ]; do echo out$i; i=$((i+1)); done; echo err >&2; sleep 2; echo last"
    try:
        docker("run", "-d", "--name", name, test_image, "sh", "-c", script)
        followed = []
        async for batch in app_docker.stream_log_batches(remote, name, tail=None, follow=True):
            followed.extend((stream, line.partition(" ")[2]) for stream, lines in batch for line in lines)
        # Docker keeps each stream's order (the two are copied apart, so not their interleaving)
        assert [line for stream, line in followed if stream == "stdout"] == [f"out{n}" for n in range(3000)] + ["last"]
        assert [line for stream, line in followed if stream == "stderr"] == ["err"]
        tail = [line async for batch in app_docker.stream_log_batches(remote, name, tail=2, follow=False)
                for _, lines in batch for line in lines]
        assert [line.partition(" ")[2] for line in tail][-1] == "last" and len(tail) == 2
        assert tail[0][:4].isdigit() and tail[0].split(" ")[0].endswith("Z")  # Docker's timestamp in front
        with pytest.raises(DockerCommandError, match=f"No such container: {name}x"):
            async for _ in app_docker.stream_log_batches(remote, f"{name}x", follow=False):
                pass
    finally:
        remove(name)
