"""Kamal's other docker commands through the Engine API, against the machine's real engine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest

from app.remote import docker_cli, docker_images, docker_streams
from app.remote.docker_errors import DockerCommandError
from app.remote.docker_run import translate_run_command
from app.remote.engine_api import progress
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker, inspect, remove

home, run_id, test_image, test_network = fixtures.home, fixtures.run_id, fixtures.test_image, fixtures.test_network
local_docker, remote_docker, auth_registry = fixtures.local_docker, fixtures.remote_docker, fixtures.auth_registry


async def _run(client, command: str) -> str:
    return (await docker_cli.run_container(client, translate_run_command(command, "/nonexistent", {}))).container_id


async def test_stop_honours_the_containers_stop_timeout_and_matches_exact_names(
        remote_docker, run_id, test_image) -> None:
    # PID 1 ignores SIGTERM, so every stop below lasts exactly as long as the stop timeout.
    name = f"{run_id}-stop-web-1"
    try:
        await _run(remote_docker, f"docker run -d --name {name} --stop-timeout 1 {test_image}")
        await _run(remote_docker, f"docker run -d --name {name}0 {test_image}")
        started = time.monotonic()
        stopped = await docker_cli.stop_containers(remote_docker, [docker_cli.name_filter(name)])
        elapsed = time.monotonic() - started
        assert len(stopped) == 1 and inspect(name)["State"]["Status"] == "exited"
        assert inspect(f"{name}0")["State"]["Status"] == "running"  # ^name$ did not match name0
        assert 0.8 < elapsed < 5, elapsed  # the container's 1 s, not the engine's default 10 s
        started = time.monotonic()
        assert len(await docker_cli.stop_containers(remote_docker, [docker_cli.name_filter(f"{name}0")],
                                                    timeout=0)) == 1
        assert time.monotonic() - started < 2
        assert await docker_cli.stop_containers(remote_docker, [docker_cli.name_filter(f"{run_id}-none")]) == []
    finally:
        remove(name, f"{name}0")


async def test_ps_filters_order_latest_and_rename(remote_docker, run_id, test_image) -> None:
    service = f"{run_id}-ps"
    names = [f"{service}-web-1", f"{service}-web-2", f"{service}-web-staging-3"]
    labels = [f"--label service={service} --label destination", f"--label service={service} --label destination",
              f"--label service={service} --label destination=staging"]
    try:
        for name, label in zip(names, labels, strict=True):
            await _run(remote_docker, f"docker run -d --name {name} {label} {test_image}")
        no_destination = [f"label=service={service}", "label=destination="]
        found = await docker_cli.list_containers(remote_docker, no_destination)
        cli = docker("ps", "--format", "{{.Names}}", *[f"--filter={f}" for f in no_destination]).stdout.split()
        assert [summary.name for summary in found] == cli == [names[1], names[0]]
        latest = await docker_cli.list_containers(remote_docker, [f"label=service={service}"], latest=True)
        assert [summary.name for summary in latest] == [names[2]]
        await docker_cli.stop_containers(remote_docker, [docker_cli.name_filter(names[0])], timeout=0)
        running = await docker_cli.list_containers(remote_docker, [*no_destination, "status=running"])
        assert [summary.name for summary in running] == [names[1]]
        everything = await docker_cli.container_ids(remote_docker, [f"label=service={service}"])
        assert len(everything) == 3
        await docker_cli.rename_container(remote_docker, names[0], f"{names[0]}_replaced_0123456789abcdef")
        assert inspect(f"{names[0]}_replaced_0123456789abcdef")["Name"] == f"/{names[0]}_replaced_0123456789abcdef"
        info = await docker_cli.inspect_container(remote_docker, names[1])
        assert docker_cli.health_or_state(info) == "running"
        assert docker_cli.image_version(info) == test_image.rsplit(":", 1)[1]
        assert docker_cli.health_json(info) == "null"
    finally:
        remove(f"{names[0]}_replaced_0123456789abcdef", *names)


async def test_network_create_ignores_already_exists(remote_docker, run_id) -> None:
    name = f"{run_id}-net"
    try:
        assert await docker_cli.create_network(remote_docker, name) is True
        assert await docker_cli.create_network(remote_docker, name) is False
        assert json.loads(docker("network", "inspect", name).stdout)[0]["Driver"] == "bridge"
    finally:
        docker("network", "rm", name, check=False)


async def test_container_prune_only_takes_stopped_containers_with_the_label(remote_docker, run_id, test_image) -> None:
    service, image = f"{run_id}-prune", test_image
    try:
        exits = "sh -c 'exit 0'"
        await _run(remote_docker, f"docker run -d --name {service}-old --label service={service} {image} {exits}")
        await _run(remote_docker, f"docker run -d --name {service}-live --label service={service} {image}")
        await _run(remote_docker, f"docker run -d --name {service}-other --label service=x{service} {image} {exits}")
        await asyncio.sleep(0.5)
        removed = await docker_cli.prune_containers(remote_docker, [f"label=service={service}"])
        assert len(removed) == 1
        remaining = docker("ps", "-a", "--format", "{{.Names}}", "--filter", f"name={service}").stdout.split()
        assert sorted(remaining) == [f"{service}-live", f"{service}-other"]
    finally:
        remove(f"{service}-old", f"{service}-live", f"{service}-other")


async def test_tag_rm_and_image_prune(local_docker, run_id, test_image) -> None:
    repository = f"shipdeck-exp/{run_id}"
    await docker_images.tag_image(local_docker, test_image, f"{repository}:latest-staging")
    assert docker("image", "inspect", f"{repository}:latest-staging").returncode == 0
    assert await docker_images.remove_image(local_docker, f"{repository}:latest-staging") is True
    assert await docker_images.remove_image(local_docker, f"{repository}:latest-staging") is False
    # Two labelled imports under one tag: the first becomes dangling.
    label = f"service={run_id}-img"
    for content in ("one", "two"):
        subprocess.run(f"echo {content} > /tmp/{run_id}-f && tar -C /tmp -c {run_id}-f | "
                       f"docker import -c 'LABEL {label}' - {repository}:v", shell=True, check=True,
                       capture_output=True)
    try:
        untagged_id = json.loads(docker("image", "ls", "--no-trunc", "--filter", "dangling=true", "--filter",
                                        f"label={label}", "--format", "{{json .ID}}").stdout)
        assert untagged_id in await docker_images.prune_images(local_docker, [f"label={label}"])
        assert docker("image", "inspect", f"{repository}:v").returncode == 0
        assert len(await docker_images.prune_images(local_docker, [f"label={label}"], all_images=True)) >= 1
        assert docker("image", "inspect", f"{repository}:v", check=False).returncode != 0
    finally:
        docker("image", "rm", "-f", f"{repository}:v", check=False)
        subprocess.run(["rm", "-f", f"/tmp/{run_id}-f"], check=False)


async def test_logs_demultiplexed_tail_timestamps_and_follow(remote_docker, run_id, test_image) -> None:
    name = f"{run_id}-logs"
    script = "for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 1; echo late; sleep 3600"
    try:
        await _run(remote_docker, f"docker run -d --name {name} {test_image} sh -c '{script}'")
        await asyncio.sleep(0.5)
        lines = [line async for line in docker_streams.container_logs(remote_docker, name)]
        assert sorted((line.stream, line.text) for line in lines) == sorted(
            [("stdout", f"out{i}") for i in (1, 2, 3)] + [("stderr", f"err{i}") for i in (1, 2, 3)])
        assert [line.text for line in lines if line.stream == "stdout"] == ["out1", "out2", "out3"]
        tail = [line async for line in docker_streams.container_logs(remote_docker, name, tail=1,
                                                                      timestamps=True)]
        cli_tail = subprocess.run(["docker", "logs", "--tail", "1", "--timestamps", name], capture_output=True,
                                  text=True)
        assert sorted(line.text for line in tail) == sorted((cli_tail.stdout + cli_tail.stderr).splitlines())
        assert all(line.text[:4].isdigit() and "T" in line.text.split()[0] for line in tail)
        followed = []
        async for line in docker_streams.container_logs(remote_docker, name, follow=True, since="1h"):
            followed.append(line.text)
            if line.text == "late":
                break
        assert followed[-1] == "late" and "out1" in followed
    finally:
        remove(name)


async def test_exec_when_ready_runs_the_command_only_once_released(remote_docker, run_id, test_image) -> None:
    name = f"{run_id}-gated"
    marker = "/tmp/gated-ran"
    command = ["sh", "-c", f'touch {marker}; echo "ran $1"', "sh", "with words: kept as given"]
    try:
        await _run(remote_docker, f"docker run -d --name {name} {test_image}")
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[bool] = loop.create_future()
        gated = asyncio.ensure_future(docker_streams.exec_when_ready(remote_docker, name, command, ready))
        await asyncio.sleep(0.5)  # spawned and waiting: the command has not run yet
        assert docker("exec", name, "test", "-e", marker, check=False).returncode == 1
        assert not gated.done()
        ready.set_result(True)
        result = await asyncio.wait_for(gated, 10)
        assert result is not None
        assert (result.exit_code, result.stdout) == (0, "ran with words: kept as given\n")
        assert docker("exec", name, "test", "-e", marker, check=False).returncode == 0

        docker("exec", name, "rm", marker)
        refused: asyncio.Future[bool] = loop.create_future()
        gated = asyncio.ensure_future(docker_streams.exec_when_ready(remote_docker, name, command, refused))
        await asyncio.sleep(0.3)
        refused.set_result(False)
        assert await asyncio.wait_for(gated, 10) is None  # never released: nothing ran
        assert docker("exec", name, "test", "-e", marker, check=False).returncode == 1
    finally:
        remove(name)


async def test_exec_when_ready_without_a_shell_returns_at_once_without_running(
        remote_docker, run_id, test_image) -> None:
    # `sh` is not on the container's PATH: the gate cannot run, so the caller is told at once (None) and runs
    # the command the plain way; the command itself was never released.
    name = f"{run_id}-noshell"
    try:
        await _run(remote_docker, f"docker run -d --name {name} --env PATH=/nowhere {test_image} /bin/sleep 3600")
        ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        result = await asyncio.wait_for(
            docker_streams.exec_when_ready(remote_docker, name, ["/bin/touch", "/tmp/gated-ran"], ready), 10)
        assert result is None and not ready.done()
        assert docker("exec", name, "/bin/test", "-e", "/tmp/gated-ran", check=False).returncode == 1
    finally:
        remove(name)


async def test_exec_captures_output_exit_code_and_stdin(remote_docker, run_id, test_image) -> None:
    name = f"{run_id}-exec"
    try:
        await _run(remote_docker, f"docker run -d --name {name} {test_image}")
        sql = b"SELECT 1;\nSELECT 'two';\n"
        result = await docker_streams.exec_in_container(
            remote_docker, name, ["sh", "-c", "cat; echo \"$GREETING\" >&2; exit 7"], stdin=sql, env=["GREETING=hi"])
        assert (result.exit_code, result.stdout, result.stderr) == (7, sql.decode(), "hi\n")
        assert result.output == sql.decode() + "hi\n"  # both streams in arrival order (`2>&1`)
        quiet = await docker_streams.exec_in_container(remote_docker, name, ["sh", "-c", "exit 0"])
        assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
        with pytest.raises(DockerCommandError) as failed:
            await docker_streams.exec_in_container(remote_docker, f"{name}-missing", ["sh"])
        assert str(failed.value) == f"Error response from daemon: No such container: {name}-missing"
    finally:
        remove(name)


async def test_run_errors_read_like_the_cli(remote_docker, run_id, test_image, test_network) -> None:
    name = f"{run_id}-errors"
    try:
        await _run(remote_docker, f"docker run -d --name {name} {test_image}")
        cases = [f"docker run -d --name {name} {test_image}",  # name conflict
                 f"docker run -d --pull never --name {name}-2 shipdeck-exp/missing:1",  # no such image
                 f"docker run -d --name {name}-3 --network {run_id}-nonet {test_image}"]  # start fails
        for command in cases:
            cli = subprocess.run(command, shell=True, capture_output=True, text=True)
            remove(f"{name}-3")
            with pytest.raises(DockerCommandError) as failed:
                await _run(remote_docker, command)
            assert cli.returncode == 125
            assert f"docker: {failed.value}" == cli.stderr.splitlines()[0]
        assert inspect(f"{name}-3")["State"]["Status"] == "created"  # the CLI leaves it behind too
    finally:
        remove(name, f"{name}-2", f"{name}-3")


class _FakeResponse:
    def __init__(self, lines: list[bytes]) -> None:
        self.content = _AsyncLines(lines)


class _AsyncLines:
    def __init__(self, lines: list[bytes]) -> None:
        self._lines = iter(lines)

    def __aiter__(self):
        return self

    def iter_any(self):  # chunks as they arrive: here, one line each
        return self

    async def __anext__(self) -> bytes:
        try:
            return next(self._lines)
        except StopIteration:
            raise StopAsyncIteration from None


async def test_an_error_inside_the_pull_stream_raises() -> None:
    lines = [b'{"status":"Pulling from app","id":"1"}\n',
             b'{"errorDetail":{"message":"unauthorized: authentication required"},'
             b'"error":"unauthorized: authentication required"}\n']
    seen = []
    with pytest.raises(DockerCommandError, match="unauthorized: authentication required"):
        async for item in progress(_FakeResponse(lines)):
            seen.append(item)
    assert seen == [{"status": "Pulling from app", "id": "1"}]


async def test_run_pulls_a_missing_image_with_the_registry_auth_it_is_given(
        remote_docker, auth_registry, run_id) -> None:
    name = f"{run_id}-pulled"
    command = f"docker run -d --name {name} {auth_registry.image}"
    try:
        cli = subprocess.run(command, shell=True, capture_output=True, text=True,
                             env=fixtures.cli_env(DOCKER_CONFIG=f"/tmp/{run_id}-no-credentials"))
        with pytest.raises(DockerCommandError) as refused:
            await _run(remote_docker, command)
        assert cli.returncode == 125 and "no basic auth credentials" in cli.stderr
        assert "no basic auth credentials" in str(refused.value)
        assert str(refused.value).startswith(f"Unable to find image '{auth_registry.image}' locally")
        wrong = docker_images.registry_auth(auth_registry.address, auth_registry.username, "wrong")
        with pytest.raises(DockerCommandError):
            await docker_images.pull_image(remote_docker, auth_registry.image, auth=wrong)
        auth = docker_images.registry_auth(auth_registry.address, auth_registry.username, auth_registry.password)
        request = translate_run_command(command, "/root", {})
        result = await docker_cli.run_container(remote_docker, request, auth=auth)
        assert inspect(name)["Id"] == result.container_id
        assert inspect(name)["State"]["Running"] is True
    finally:
        remove(name)
        docker("image", "rm", "-f", auth_registry.image, check=False)
