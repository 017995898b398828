"""A `FleetAPI` without servers, for the dashboard's fast tests and snapshots: a fixed fleet (three hosts,
two roles, Postgres and Redis accessories, kamal-proxy on the web hosts, one of them outdated), scripted
`watch()` changes, and operations that emit the events the engine emits (steps per host with output,
the lock taken and released, confirmations asked through the Confirmer it was given), that can be held
at any event and cancelled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from app.engine import api
from app.engine.api import (
    AccessoryStatus,
    AppContainer,
    ConfirmationRefused,
    ConfirmationRequest,
    ConnectionState,
    ContainerHealth,
    ContainerKind,
    ContainerState,
    Effect,
    FleetStatus,
    HostStatus,
    LockStatus,
    Output,
    ProxyRoute,
    ProxyStatus,
    RunFinished,
    RunResult,
    RunStarted,
    StepFinished,
    StepStarted,
    StepStatus,
    StorageUse,
)
from app.tui.state import apply_change, connecting_status

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: every snapshot's "now"
SERVICE = "demo"
DESTINATION = "production"
WEB = ("10.0.1.11", "10.0.1.12")
JOBS = "10.0.1.13"
HOSTS = (*WEB, JOBS)
RUNNING_VERSION = "3f1c2a9"
OLD_VERSION = "9e2d41b"
NEW_VERSION = "a7b3c5d"
MINIMUM_PROXY = "v0.9.2"
EVERYWHERE = api.Selection()
DEPLOY = api.DeployOptions()


class Clock:
    """A clock that moves only when told (snapshots) or follows real time from T0 (pilot tests)."""

    def __init__(self, start: float = T0, *, frozen: bool = True) -> None:
        self.now = start
        self.frozen = frozen
        self._loop_start: float | None = None

    def __call__(self) -> float:
        if self.frozen:
            return self.now
        loop = asyncio.get_event_loop()
        if self._loop_start is None:
            self._loop_start = loop.time()
        return self.now + loop.time() - self._loop_start

    def advance(self, seconds: float) -> None:
        self.now += seconds


def app_name(role: str, version: str) -> str:
    return f"{SERVICE}-{role}-{DESTINATION}-{version}"


def demo_status(now: float = T0) -> FleetStatus:
    hosts = (
        HostStatus(name=WEB[0], state=ConnectionState.UP, rtt_ms=0.8, docker_version="26.1.5",
                   disk_free_bytes=41_200_000_000, roles=("web",)),
        HostStatus(name=WEB[1], state=ConnectionState.UP, rtt_ms=1.1, docker_version="26.1.5",
                   disk_free_bytes=39_800_000_000, roles=("web",)),
        HostStatus(name=JOBS, state=ConnectionState.UP, rtt_ms=0.9, docker_version="26.1.5",
                   disk_free_bytes=12_400_000_000, roles=("workers",)),
    )
    apps = []
    for host, role in ((WEB[0], "web"), (WEB[1], "web"), (JOBS, "workers")):
        apps.append(AppContainer(host=host, service=SERVICE, destination=DESTINATION, role=role,
                                 name=app_name(role, OLD_VERSION), version=OLD_VERSION, state=ContainerState.EXITED,
                                 health=ContainerHealth.NONE, started_at=now - 86_400 * 2,
                                 image=f"registry.example.test/demo:{OLD_VERSION}", id=f"0ld{host[-2:]}0000000"))
        apps.append(AppContainer(host=host, service=SERVICE, destination=DESTINATION, role=role,
                                 name=app_name(role, RUNNING_VERSION), version=RUNNING_VERSION,
                                 state=ContainerState.RUNNING,
                                 health=ContainerHealth.HEALTHY if role == "web" else ContainerHealth.NONE,
                                 started_at=now - 3_600 * 5,
                                 image=f"registry.example.test/demo:{RUNNING_VERSION}", id=f"cur{host[-2:]}0000000"))
    accessories = (
        AccessoryStatus(host=JOBS, name="db", container=f"{SERVICE}-db", state=ContainerState.RUNNING,
                        health=ContainerHealth.HEALTHY, image="postgres:16.4", ports=("127.0.0.1:5432->5432/tcp",),
                        storage=(StorageUse(kind="directory", source="demo-db/data", target="/var/lib/postgresql/data",
                                            size_bytes=48_300_000),),
                        started_at=now - 86_400 * 9, service=SERVICE),
        AccessoryStatus(host=JOBS, name="redis", container=f"{SERVICE}-redis", state=ContainerState.RUNNING,
                        health=ContainerHealth.NONE, image="redis:7.4", ports=("127.0.0.1:6379->6379/tcp",),
                        storage=(StorageUse(kind="volume", source="demo_redis", target="/data",
                                            size_bytes=2_100_000),),
                        started_at=now - 86_400 * 9, service=SERVICE),
    )
    proxies = tuple(
        ProxyStatus(host=host, state=ContainerState.RUNNING, image=f"basecamp/kamal-proxy:{version}", version=version,
                    minimum_version=MINIMUM_PROXY, outdated=version != MINIMUM_PROXY,
                    routes=(ProxyRoute(service=f"{SERVICE}-web-{DESTINATION}", hosts=("demo.example.test",), path="/",
                                       target=f"{app_name('web', RUNNING_VERSION)}:80", state="running", tls=True),))
        for host, version in ((WEB[0], MINIMUM_PROXY), (WEB[1], "v0.8.0")))
    locks = (LockStatus(service=SERVICE, destination=DESTINATION, held=False),)
    return FleetStatus(taken_at=now, service=SERVICE, destination=DESTINATION, hosts=hosts, apps=tuple(apps),
                       accessories=accessories, proxies=proxies, locks=locks, deploy_version=NEW_VERSION)


# ==================================================================================================


_run_ids = itertools.count(1)


class FakeRun:
    """Implements `api.Run`. The script emits events through `emit`; `hold_after` stops it after that
    many events until `release()`."""

    def __init__(self, fleet: FakeFleet, command: str, script: Callable[[FakeRun], Awaitable[object]],
                 hold_after: int | None = None) -> None:
        self.id = f"fake-run-{next(_run_ids)}"
        self.command = command
        self.fleet = fleet
        self.events: list[api.Event] = []
        self._new = asyncio.Condition()
        self.held = asyncio.Event()
        self._release = asyncio.Event()
        self.hold_after = hold_after
        self.open_steps: dict[str, StepStarted] = {}
        self.cancelled = False
        self._task = asyncio.get_running_loop().create_task(self._main(script))

    # the Run protocol
    def __aiter__(self) -> AsyncIterator[api.Event]:
        return self._iterate()

    def cancel(self) -> None:
        if not self._task.done():
            self.cancelled = True
            self._task.cancel()

    async def result(self) -> RunResult:
        return await asyncio.shield(self._task)

    @property
    def done(self) -> bool:
        return self._task.done()

    # for scripts
    async def emit(self, event: api.Event) -> None:
        self.events.append(event)
        if isinstance(event, StepStarted):
            self.open_steps[event.step_id] = event
        elif isinstance(event, StepFinished):
            self.open_steps.pop(event.step_id, None)
        async with self._new:
            self._new.notify_all()
        if self.hold_after is not None and len(self.events) >= self.hold_after and not self._release.is_set():
            self.held.set()
            await self._release.wait()
        await asyncio.sleep(self.fleet.event_delay)

    def release(self) -> None:
        self._release.set()

    def at(self) -> float:
        return self.fleet.clock()

    async def step(self, step: str, title: str, host: str | None, lines: Sequence[str] = (), *,
                   role: str | None = None, seconds: float = 1.0, status: StepStatus = StepStatus.OK,
                   error: str | None = None) -> None:
        step_id = f"{step}#{len(self.events)}"
        began = self.at()
        await self.emit(StepStarted(step=step, title=title, host=host, role=role, step_id=step_id, at=began))
        for line in lines:
            stream = "command" if line.startswith("$ ") else "stdout"
            await self.emit(Output(step=step, line=line.removeprefix("$ "), host=host, role=role, stream=stream,
                                   step_id=step_id, at=self.at()))
        self.fleet.advance(seconds)
        await self.emit(StepFinished(step=step, status=status, duration=seconds, host=host, role=role, error=error,
                                     step_id=step_id, at=self.at()))

    # internals
    async def _iterate(self) -> AsyncIterator[api.Event]:
        index = 0
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                yield event
                if isinstance(event, RunFinished):
                    return
            async with self._new:
                await self._new.wait_for(lambda seen=index: seen < len(self.events))

    async def _finish(self, event: RunFinished) -> None:
        self.events.append(event)
        async with self._new:
            self._new.notify_all()

    async def _main(self, script: Callable[[FakeRun], Awaitable[object]]) -> RunResult:
        began = self.at()
        self.events.append(RunStarted(command=self.command, hosts=self.fleet.hosts, version=self.fleet.run_version,
                                      at=began))
        try:
            await script(self)
        except asyncio.CancelledError:
            for started in list(self.open_steps.values()):
                self.events.append(StepFinished(step=started.step, status=StepStatus.CANCELLED, duration=0.0,
                                                host=started.host, role=started.role, step_id=started.step_id,
                                                at=self.at()))
            self.fleet.release_lock()
            duration = self.at() - began
            await self._finish(RunFinished(ok=False, duration=duration, error="cancelled", at=self.at()))
            return RunResult(ok=False, exit_code=130, error="cancelled", cancelled=True, duration=duration)
        except ConfirmationRefused as refused:
            duration = self.at() - began
            await self._finish(RunFinished(ok=False, duration=duration, error=refused.message, at=self.at()))
            return RunResult(ok=False, exit_code=2, error=refused.message, duration=duration)
        duration = self.at() - began
        await self._finish(RunFinished(ok=True, duration=duration, at=self.at()))
        return RunResult(ok=True, exit_code=0, duration=duration)


# ==================================================================================================


class FakeFleet:
    """Implements `api.FleetAPI` over `demo_status()`."""

    def __init__(self, *, confirmer: api.Confirmer | None = None, clock: Clock | None = None,
                 status: FleetStatus | None = None, event_delay: float = 0.0, status_delay: float = 0.0,
                 hold_after: int | None = None, server_mode: bool = False) -> None:
        self.clock = clock or Clock()
        self.current = status or demo_status(self.clock())
        self.service: str | None = None if server_mode else self.current.service
        self.destination = None if server_mode else self.current.destination
        if server_mode:
            self.current = dataclasses.replace(self.current, service=None, destination=None, deploy_version=None,
                                               services=(SERVICE,))
        self.hosts = tuple(host.name for host in self.current.hosts)
        self.confirmer = confirmer
        self.event_delay = event_delay
        self.status_delay = status_delay
        self.hold_after = hold_after
        self.run_version = self.current.deploy_version
        self.runs: list[FakeRun] = []
        self.calls: list[str] = []
        self.log_events: list[api.LogEvent] = []  # what logs() yields
        self.log_requests: list[tuple[tuple[api.LogSource, ...], int | None, bool]] = []
        self.status_calls = 0
        self.findings: tuple = ()  # what diagnose() reports (healthy by default)
        self.diagnose_calls = 0
        self.repaired: list[str] = []
        self._watchers: list[asyncio.Queue[api.FleetChange | None]] = []
        self.closed = False

    # -- what the tests do ----------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        if self.clock.frozen:
            self.clock.advance(seconds)

    def push(self, change: api.FleetChange) -> None:
        """A change as Docker's event stream would report it: seen by watch(), and true from now on."""
        self.current = apply_change(self.current, change)
        for queue in self._watchers:
            queue.put_nowait(change)

    def stop_container_behind_the_back(self, host: str, role: str, version: str) -> None:
        self.push(api.ContainerStopped(at=self.clock(), host=host, container=app_name(role, version),
                                       id="cur0000000", kind=ContainerKind.APP, service=SERVICE, role=role,
                                       version=version, exit_code=137))

    def lock_held(self) -> bool:
        lock = self.current.lock
        return bool(lock and lock.held)

    def release_lock(self) -> None:
        if self.lock_held():
            self.push(api.LockReleased(at=self.clock(), host=WEB[0], service=SERVICE, destination=DESTINATION))

    # -- FleetAPI ---------------------------------------------------------------------------------

    def connection_state(self, host: str) -> ConnectionState:
        return ConnectionState.UP if self.status_calls else ConnectionState.CONNECTING

    async def status(self, *, wait: bool = True) -> FleetStatus:
        self.status_calls += 1
        if not wait:
            return connecting_status(self.service, self.destination, self.hosts, now=self.clock())
        if self.status_delay:
            await asyncio.sleep(self.status_delay)
        return dataclasses.replace(self.current, taken_at=self.clock())

    def watch(self) -> AsyncIterator[api.FleetChange]:
        queue: asyncio.Queue[api.FleetChange | None] = asyncio.Queue()
        self._watchers.append(queue)

        async def changes() -> AsyncIterator[api.FleetChange]:
            try:
                while (change := await queue.get()) is not None:
                    yield change
            finally:
                self._watchers.remove(queue)

        return changes()

    def logs(self, sources=(), *, since=None, tail=None, follow=False, grep=None) -> AsyncIterator[api.LogEvent]:
        """The scripted `log_events`, then (when following) nothing more until the reader goes away."""
        self.log_requests.append((tuple(sources), tail, follow))
        events = list(self.log_events)

        async def stream() -> AsyncIterator[api.LogEvent]:
            for event in events:
                yield event
            if follow:
                await asyncio.Event().wait()

        return stream()

    def _start(self, command: str, script: Callable[[FakeRun], Awaitable[object]]) -> FakeRun:
        self.calls.append(command)
        run = FakeRun(self, command, script, hold_after=self.hold_after)
        self.runs.append(run)
        return run

    async def _confirm(self, request: ConfirmationRequest) -> None:
        if self.confirmer is None or not await self.confirmer.confirm(request):
            raise ConfirmationRefused(request, "not confirmed")

    def _take_lock(self, message: str) -> None:
        self.push(api.LockTaken(at=self.clock(), host=WEB[0], service=SERVICE, destination=DESTINATION,
                                holder="ops@laptop", message=message))

    # deploy: build, push, then on every host pull, boot the new version, stop the old one
    def deploy(self, options: api.DeployOptions = DEPLOY, selection: api.Selection = EVERYWHERE):
        return self._start("deploy", self._deploy)

    def redeploy(self, options: api.DeployOptions = DEPLOY,
                 selection: api.Selection = EVERYWHERE):
        return self._start("redeploy", self._deploy)

    async def _deploy(self, run: FakeRun) -> None:
        version = self.run_version or NEW_VERSION
        self._take_lock(f"Automatic deploy lock for {version}")
        await run.step("build.image", f"Build image {version}", None, [
            f"$ docker buildx build --tag registry.example.test/demo:{version} .",
            "#1 [internal] load build definition from Dockerfile",
            "#5 [2/4] RUN bundle install",
            "#8 exporting to image",
        ], seconds=12.4)
        await run.step("build.push", "Push image", None, [f"pushed registry.example.test/demo:{version}"],
                       seconds=3.1)
        for host in self.hosts:
            await run.step("app.pull", f"Pull {version}", host, [
                f"$ docker pull registry.example.test/demo:{version}",
                f"{version}: Pulling from demo", "Digest: sha256:4b1e…", "Status: Downloaded newer image"],
                seconds=2.2)
        for host in self.hosts:
            role = "web" if host in WEB else "workers"
            name = app_name(role, version)
            await run.step("app.boot", f"Boot app {version} ({role})", host, [
                f"$ docker run --detach --name {name} --label service={SERVICE} --label role={role} …",
                f"Started {name}",
                *([f"Waiting for {name} to be healthy", "healthy after 1.6s",
                   f"$ docker exec kamal-proxy kamal-proxy deploy {SERVICE}-web-{DESTINATION} --target {name}:80"]
                  if role == "web" else []),
            ], role=role, seconds=4.8 if role == "web" else 2.0)
            self.push(api.ContainerStarted(at=self.clock(), host=host, container=name, id=f"new{host[-2:]}0000000",
                                           kind=ContainerKind.APP, service=SERVICE, role=role, version=version))
            old = app_name(role, RUNNING_VERSION)
            await run.step("app.stop_old", f"Stop {RUNNING_VERSION} ({role})", host,
                           [f"$ docker stop {old}"], role=role, seconds=0.6)
            self.push(api.ContainerStopped(at=self.clock(), host=host, container=old, id=f"cur{host[-2:]}0000000",
                                           kind=ContainerKind.APP, service=SERVICE, role=role,
                                           version=RUNNING_VERSION, exit_code=0))
        self.release_lock()

    def rollback(self, version: str, selection: api.Selection = EVERYWHERE):
        return self._start(f"rollback {version}", lambda run: asyncio.sleep(0))

    def setup(self, options=DEPLOY, selection=EVERYWHERE):
        return self._start("setup", self._deploy)

    def app_boot(self, version=None, selection=EVERYWHERE):
        return self._start("app boot", lambda run: asyncio.sleep(0))

    def app_start(self, selection=EVERYWHERE):
        return self._start("app start", lambda run: asyncio.sleep(0))

    def app_stop(self, selection=EVERYWHERE):
        async def stop(run: FakeRun) -> None:
            for host in self.hosts:
                role = "web" if host in WEB else "workers"
                await run.step("app.stop", f"Stop app ({role})", host,
                               [f"$ docker stop {app_name(role, RUNNING_VERSION)}"], role=role)
                self.stop_container_behind_the_back(host, role, RUNNING_VERSION)

        return self._start("app stop", stop)

    def app_remove(self, selection=EVERYWHERE):
        return self._start("app remove", lambda run: asyncio.sleep(0))

    def app_exec(self, command, *, reuse=False, env=None, selection=EVERYWHERE):
        return self._start("app exec", lambda run: asyncio.sleep(0))

    def accessory_boot(self, name: str, selection=EVERYWHERE):
        return self._start(f"accessory boot {name}", lambda run: asyncio.sleep(0))

    def accessory_reboot(self, name: str, selection=EVERYWHERE):
        async def reboot(run: FakeRun) -> None:
            accessory = next(acc for acc in self.current.accessories if acc.name == name)
            await run.step("accessory.reboot", f"Rebooting {name}", accessory.host, [f"$ docker restart {name}"],
                           status=StepStatus.FAILED, error=f"{accessory.container} exited (1)")
            await run.emit(api.Diagnosis(code="postgres.password_mismatch", title="Postgres refuses the password",
                                         host=accessory.host, target=name,
                                         detail="The data directory was initialised with another password.",
                                         fixes=(("Reset the password in place", f"shipdeck accessory repair {name}"),),
                                         at=self.clock()))

        return self._start(f"accessory reboot {name}", reboot)

    def accessory_remove(self, name: str, selection=EVERYWHERE):
        async def remove(run: FakeRun) -> None:
            accessory = next(acc for acc in self.current.accessories if acc.name == name)
            data = [use.source for use in accessory.storage if use.kind == "directory"]
            effects = (
                Effect(accessory.host, f"remove container {accessory.container} (docker container prune --force "
                                       f"--filter label=service={accessory.container})"),
                Effect(accessory.host, f"remove image {accessory.image} (docker image rm --force {accessory.image})"),
                Effect(accessory.host, f"delete directory ~/{accessory.container} (rm -rf {accessory.container})"
                                       + (f", including data directories {', '.join(data)}" if data else "")),
            )
            await self._confirm(ConfirmationRequest(
                action="accessory.remove", target=name, title=f"Remove accessory {name}",
                consequence=f"This will remove all containers, images and data directories for {name}.",
                effects=effects, destroys_data=True))
            await run.step("accessory.remove", f"Removing {name}", accessory.host,
                           [f"$ docker container prune --force --filter label=service={accessory.container}"])
            self.push(api.ContainerRemoved(at=self.clock(), host=accessory.host, container=accessory.container,
                                           id="acc0000000", kind=ContainerKind.ACCESSORY, service=SERVICE,
                                           accessory=name))
            self.current = dataclasses.replace(self.current, accessories=tuple(
                acc for acc in self.current.accessories if acc.name != name))

        return self._start(f"accessory remove {name}", remove)

    def proxy_boot(self, selection=EVERYWHERE):
        return self._start("proxy boot", lambda run: asyncio.sleep(0))

    def proxy_reboot(self, *, rolling: bool = False, selection=EVERYWHERE):
        async def reboot(run: FakeRun) -> None:
            hosts = [proxy.host for proxy in self.current.proxies]
            how = "one host at a time" if rolling else "all hosts at once"
            commands = ("docker container stop kamal-proxy",
                        "docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy",
                        "mkdir -p .kamal/proxy/apps-config",
                        f"docker run --name kamal-proxy --network kamal --detach --restart unless-stopped "
                        f"--publish 80:80 --publish 443:443 basecamp/kamal-proxy:{MINIMUM_PROXY}")
            await self._confirm(ConfirmationRequest(
                action="proxy.reboot", title=f"Reboot kamal-proxy on {len(hosts)} hosts ({how})",
                consequence="This will cause a brief outage on each host.", target="kamal-proxy",
                effects=tuple(Effect(host, command) for host in hosts for command in commands)))
            for host in hosts:
                await run.step("proxy.reboot", "Rebooting kamal-proxy", host, [f"$ {command}" for command in commands])
                self.push(api.ProxyReplaced(at=self.clock(), host=host, image=f"basecamp/kamal-proxy:{MINIMUM_PROXY}",
                                            version=MINIMUM_PROXY, id="prx0000000"))

        return self._start("proxy reboot", reboot)

    def lock_acquire(self, message: str):
        return self._start("lock acquire", lambda run: asyncio.sleep(0))

    def lock_release(self):
        async def release(run: FakeRun) -> None:
            await run.step("lock.release", "Release the deploy lock", WEB[0], ["$ rm -r .kamal/lock-demo-production"])
            self.release_lock()

        return self._start("lock release", release)

    def prune(self, selection=EVERYWHERE):
        return self._start("prune all", lambda run: asyncio.sleep(0))

    def details(self, selection=EVERYWHERE):
        return self._start("details", lambda run: asyncio.sleep(0))

    async def diagnose(self) -> api.DiagnosisReport:
        self.diagnose_calls += 1
        return api.DiagnosisReport(taken_at=self.clock(), findings=tuple(self.findings), checks=("fake",))

    def repair(self, repair_id: str):
        found = api.DiagnosisReport(taken_at=0, findings=tuple(self.findings)).repair(repair_id)
        assert found is not None, repair_id
        finding, repair = found

        async def run_repair(run: FakeRun) -> None:
            if repair.destructive:
                await self._confirm(ConfirmationRequest(
                    action="accessory.wipe", target=finding.target, title=repair.label,
                    consequence=repair.consequence, destroys_data=True, typed=repair.typed,
                    effects=tuple(Effect(step.where, step.command) for step in repair.steps)))
            for step in repair.steps:
                await run.step("repair", step.purpose or repair.label, finding.host, [f"$ {step.command}"])
            self.repaired.append(repair_id)
            self.findings = ()

        return self._start(f"doctor repair {repair_id}", run_repair)

    async def close(self) -> None:
        self.closed = True
        for run in self.runs:
            run.cancel()
        for queue in self._watchers:
            queue.put_nowait(None)
