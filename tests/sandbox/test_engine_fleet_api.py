"""The engine as a library, driven from inside one running event loop through the Fleet API alone:
open, status(), watch(), deploy (the new containers arrive through watch() within a second of their
start), the app's logs across the deploy (the switch to the new containers and a dropped stream
marked), a second deploy cancelled midway (lock released, the serving container keeps its name),
close; and one SSH connection per host across 20 operations on one Fleet."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from app.engine import api
from app.engine.confirm import FlagConfirmer
from app.engine.fleet import Fleet
from app.engine.status import parse_time
from app.sandbox import layout
from tests.fleet import Sandbox
from tests.sandbox.engine_support import (
    Project,
    containers,
    get,
    kamal,
    lock_exists,
    make_project,
    pushed_and_deployed,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("fleetapi") / "demo"), job=False,
                        extra={"deploy_timeout": 20})
    with pushed_and_deployed(made) as deployed:
        yield deployed


@pytest.fixture
def in_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """This process as a face would run it: in the project directory, with the sandbox's environment."""
    for key, value in project.sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.chdir(project.path)
    return project


def accepted_connections(sandbox: Sandbox) -> dict[str, int]:
    counts = {}
    for host in sandbox.hosts:
        log = layout.host_dir(sandbox.root, host.index) / "log" / "sshd.log"
        counts[host.address] = log.read_text(errors="replace").count("Accepted publickey") if log.exists() else 0
    return counts


def drop_ssh_sessions(sandbox: Sandbox, host: str) -> None:
    """Kill every SSH session on the host but the one running this command: the fleet's connection drops."""
    sandbox.run(host, "for p in $(pgrep -f 'sshd: root@notty'); do [ $p != $PPID ] && kill -9 $p; done; true",
                check=False)


class Collector:
    """Reads an async stream into a list, with the time each item arrived."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.items: list[tuple[float, object]] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for item in self.stream:
            self.items.append((time.time(), item))

    def of(self, kind: type) -> list:
        return [item for _, item in self.items if isinstance(item, kind)]

    async def wait_for(self, predicate, timeout: float = 30.0):
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for arrived, item in self.items:
                        if predicate(item):
                            return arrived, item
                    await asyncio.sleep(0.05)
        except TimeoutError:
            seen = "\n".join(f"  {arrived:.2f} {item!r}"[:300] for arrived, item in self.items[-12:])
            ended = "the stream ended" if self.task.done() else "the stream is still open"
            raise AssertionError(f"nothing matched in {timeout:g}s ({ended}); the last items:\n{seen}") from None

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        with contextlib.suppress(Exception):
            await self.stream.aclose()


async def requests_through_proxies(project: Project, stop: asyncio.Event) -> None:
    """Traffic so the app logs lines (Rails-style request lines for /version) throughout."""
    while not stop.is_set():
        for address in project.web_hosts():
            with contextlib.suppress(OSError):
                await asyncio.to_thread(get, address, project.proxy_host, "/version", 3)
        await asyncio.sleep(0.2)


async def test_one_loop_drives_a_deploy_its_logs_and_a_cancelled_deploy(in_project: Project) -> None:
    project = in_project
    sandbox = project.sandbox
    web1, web2 = project.web_hosts()
    v1 = project.version()
    fleet = await Fleet.open(confirmer=FlagConfirmer())
    changes = logs = None
    stop_traffic = asyncio.Event()
    traffic = asyncio.ensure_future(requests_through_proxies(project, stop_traffic))
    try:
        status = await fleet.status()
        assert {host.name: host.state for host in status.hosts if host.name in (web1, web2)} == {
            web1: api.ConnectionState.UP, web2: api.ConnectionState.UP}
        assert status.service == project.service and status.deploy_version == v1
        assert {(app.host, app.version) for app in status.apps if app.running and app.role == "web"} == {
            (web1, v1), (web2, v1)}
        assert status.lock is not None and status.lock.held is False
        proxy = next(proxy for proxy in status.proxies if proxy.host == web1)
        assert any(route.service == f"{project.service}-web" for route in proxy.routes)

        changes = Collector(fleet.watch())
        await fleet.watch_ready()
        logs = Collector(fleet.logs([api.LogSource.app("web")], follow=True, tail=5))
        await logs.wait_for(lambda item: isinstance(item, api.LogLine) and item.host == web1)

        # -- deploy v2: the new containers arrive through watch() within a second of starting ----
        v2 = project.commit("v2")
        await asyncio.to_thread(kamal, project, "build", "push")
        deploy = fleet.deploy(api.DeployOptions(skip_push=True))
        result = await deploy.result()
        assert result.ok, result.error
        steps = [event async for event in deploy if isinstance(event, api.StepStarted) and event.step == "app.boot"]
        assert len({step.step_id for step in steps}) == len(steps) == 2
        for host in (web1, web2):
            arrived, started = await changes.wait_for(lambda item, host=host: isinstance(
                item, api.ContainerStarted) and item.host == host and item.version == v2)
            assert started.role == "web" and started.kind is api.ContainerKind.APP
            inspected = sandbox.run(host, f"docker inspect -f '{{{{.State.StartedAt}}}}' {started.container}")
            began = parse_time(inspected.stdout.strip())
            assert arrived - began < 1.0, f"{host}: ContainerStarted {arrived - began:.2f}s after the start"
        assert any(isinstance(item, api.LockTaken) for item in changes.of(api.LockTaken))
        assert changes.of(api.LockReleased)

        # -- the logs followed the new containers (marked) and say which container a line is from --
        for host in (web1, web2):
            await logs.wait_for(lambda item, host=host: isinstance(item, api.LogSwitched) and item.host == host
                                and item.new_container.endswith(v2))
            await logs.wait_for(lambda item, host=host: isinstance(item, api.LogLine) and item.host == host
                                and item.container.endswith(v2))
        # ...and a dropped stream is resumed behind a gap marker.
        drop_ssh_sessions(sandbox, web1)
        await changes.wait_for(lambda item: isinstance(item, api.HostDown) and item.host == web1)
        await changes.wait_for(lambda item: isinstance(item, api.HostUp) and item.host == web1)
        _, gap = await logs.wait_for(lambda item: isinstance(item, api.LogGap) and item.host == web1
                                     and item.until is not None)
        resumed_after = gap.until
        await logs.wait_for(lambda item: isinstance(item, api.LogLine) and item.host == web1
                            and (item.timestamp or 0) > resumed_after)
        lines = [line for line in logs.of(api.LogLine) if line.host == web1 and line.container.endswith(v2)]
        stamps = [(line.timestamp, line.text) for line in lines]
        assert len(stamps) == len(set(stamps)), "lines repeated after the resume"

        # -- a second deploy of the same version, cancelled once it renamed the serving container ----
        serving = f"{project.service}-web-{v2}"
        again = fleet.redeploy(api.DeployOptions(skip_push=True))
        await changes.wait_for(lambda item: isinstance(item, api.ContainerRenamed) and item.old_name == serving)
        again.cancel("cancelled by the operator")
        outcome = await again.result()
        assert outcome.cancelled and outcome.exit_code == 130
        assert not lock_exists(project)
        for host in (web1, web2):
            states = containers(project, host)
            assert states.get(serving) == "running", states
            assert not any("_replaced_" in name and state == "running" for name, state in states.items()), states
            assert get(host, project.proxy_host)[1].strip() == v2
        after = await fleet.status()
        assert after.lock.held is False
        assert {app.name for app in after.apps if app.running and app.role == "web"} == {serving}
    finally:
        stop_traffic.set()
        await traffic
        for collector in (changes, logs):
            if collector is not None:
                await collector.close()
        await fleet.close()


async def test_one_connection_per_host_across_twenty_operations(in_project: Project) -> None:
    project = in_project
    before = accepted_connections(project.sandbox)
    fleet = await Fleet.open(confirmer=FlagConfirmer(), connect=False)
    operations = 0
    try:
        for round_number in range(4):
            assert (await fleet.status()).hosts
            operations += 1
            message = f"round {round_number}"
            for start in (fleet.details, lambda message=message: fleet.lock_acquire(message), fleet.lock_release,
                          lambda: fleet.app_exec("true", reuse=True)):
                result = await start().result()  # one after the other
                assert result.ok, result.error
                operations += 1
        assert operations == 20
        hosts = set(fleet.hosts)
        assert fleet.connections_opened == len(hosts)
        assert {host: stats.connections for host, stats in fleet.stats().items()} == dict.fromkeys(hosts, 1)
    finally:
        await fleet.close()
    after = accepted_connections(project.sandbox)
    assert {host: after[host] - before[host] for host in hosts} == dict.fromkeys(hosts, 1)


async def test_an_open_fleet_deploys_again_after_kamal_removed_the_app_behind_it(in_project: Project) -> None:
    """Kamal and an open Fleet take turns: `kamal app remove` (which also removes `.kamal/apps/<service>`)
    between two deploys of one Fleet, whose hosts remember making those folders; the second deploy makes
    them again and ships."""
    project = in_project
    version = project.commit("after-kamal-remove")
    await asyncio.to_thread(kamal, project, "build", "push")
    host = project.web_hosts()[0]
    env_file = f".kamal/apps/{project.service}/env/roles/web.env"
    fleet = await Fleet.open(confirmer=FlagConfirmer(), connect=False)
    try:
        first = await fleet.deploy(api.DeployOptions(skip_push=True)).result()
        assert first.ok, first.error
        await asyncio.to_thread(kamal, project, "app", "remove")
        assert project.sandbox.run(host, f"test -e {env_file} || echo gone").stdout.strip() == "gone"
        second = await fleet.deploy(api.DeployOptions(skip_push=True)).result()
        assert second.ok, second.error
    finally:
        await fleet.close()
    assert project.sandbox.run(host, f"stat -c %a {env_file}").stdout.strip() == "600"
    assert get(host, project.proxy_host)[1].strip() == version


def test_the_readme_library_example_runs(in_project: Project) -> None:
    """The README's "Using shipdeck as a library" example, as printed there, deploys the project."""
    import re
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Using shipdeck as a library", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    project = in_project
    v3 = project.commit("v3")
    kamal(project, "build", "push")
    env = {**project.sandbox.env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", example], cwd=project.path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "RunResult(ok=True" in output and "app.boot" in output
    assert f"started {project.web_hosts()[0]} {project.service}-web-{v3}" in output
    assert get(project.web_hosts()[0], project.proxy_host)[1].strip() == v3
