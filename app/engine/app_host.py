"""One app role on one host: the remote actions of Kamal's app commands, fast and observable.

Each action first shows the exact command Kamal would run (an Output line on the current step, so
`-v` prints it), then does the same thing through the Docker API or SFTP over the host's single
connection. The `docker run` of the app goes through the translation in `app.remote.docker_ops`, which
runs Kamal's command string itself over SSH where the Engine API cannot express it exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from app import contract
from app.config.model import Config, Role
from app.engine import app_commands as commands
from app.engine import audit
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote import app_docker, docker_ops

LOG_LINES_ON_FAILURE = 100
# Probe pauses: short at first (a refused probe costs about a millisecond over the open connection), growing
# so that many hosts probing a slow app do not take the CPU their engines need to start it.
PROBE_FIRST_PAUSE_S, PROBE_PAUSE_GROWTH, PROBE_LONGEST_PAUSE_S = 0.01, 1.5, 0.05


class BootError(ShipdeckError):
    """The new container did not boot or did not become healthy."""


class AppOnHost:
    """Kamal's `KAMAL.app(role:, host:)`: commands for one role on one host."""

    def __init__(self, run: Run, host: str, role: Role, step: str = "app") -> None:
        self.run = run
        self.host_name = host
        self.role = role
        self.step = step
        self.switched = False  # the new container took over (kamal-proxy deployed it, or it is healthy)
        # Containers found running, by version: a later `stop` of that version needs no lookup by name (the
        # deploy lock keeps anyone else from renaming or replacing it meanwhile).
        self._running_ids: dict[str, str] = {}

    @property
    def config(self) -> Config:
        return self.run.config

    @property
    def host(self):
        return self.run.host(self.host_name)

    def show(self, command: str) -> None:
        """Tell the event stream which Kamal command this action stands for."""
        self.run.output(self.step, f"$ {command}", host=self.host_name, stream="command")

    async def audit(self, message: str, *, with_role: bool = True) -> None:
        await audit.record(self.host, self.config, message, role=self.role.name if with_role else None)

    # -- queries --------------------------------------------------------------------------------

    def _label_filters(self, statuses: tuple[str, ...] = ()) -> list[str]:
        return contract.app_container_filters(self.config.service, self.config.destination, self.role.name, statuses)

    async def current_running_container(self) -> dict[str, Any] | None:
        """The running (or restarting) container, preferring one from the image tagged latest."""
        filters = self._label_filters(commands.ACTIVE_STATUSES)
        from_latest = await app_docker.list_containers(self.host, [*filters, f"ancestor={self.config.latest_image}"],
                                                       all_states=True)
        if from_latest:
            return from_latest[0]
        running = await app_docker.list_containers(self.host, filters, all_states=True)
        return running[0] if running else None

    async def current_running_version(self, looked_up: Awaitable[dict[str, Any] | None] | None = None) -> str | None:
        """Kamal's current running version; `looked_up`, when given, is `current_running_container()` already
        under way (its command is shown here, where Kamal runs it)."""
        self.show(commands.current_running_version(self.config, self.role))
        container = await (looked_up if looked_up is not None else self.current_running_container())
        if container is None:
            return None
        version = self.version_of(app_docker.container_name(container))
        self._running_ids[version] = str(container["Id"])
        return version

    def version_of(self, name: str) -> str:
        prefix = f"{self.role.container_prefix}-"
        return name[len(prefix):] if name.startswith(prefix) else name

    async def container_id(self, version: str) -> str | None:
        self.show(commands.container_id_for(self.role.container_name(version)))
        return await app_docker.container_id_by_name(self.host, self.role.container_name(version))

    async def list_versions(self, statuses: tuple[str, ...] = ()) -> list[str]:
        """Versions of this role's containers (running ones unless `statuses` says otherwise)."""
        self.show(commands.list_versions(self.config, self.role, statuses))
        found = await app_docker.list_containers(self.host, self._label_filters(statuses), all_states=bool(statuses))
        return [self.version_of(app_docker.container_name(summary)) for summary in found]

    async def status(self, version: str) -> str:
        self.show(commands.status(self.role, version))
        container = await app_docker.container_id_by_name(self.host, self.role.container_name(version))
        if container is None:
            return ""
        return await app_docker.health_status(self.host, container)

    # -- actions --------------------------------------------------------------------------------

    async def stop(self, version: str | None = None) -> None:
        """Stop one version (or the current one); nothing to stop is not an error (as with Kamal)."""
        self.show(commands.stop(self.config, self.role, version))
        if version is None:
            container = await self.current_running_container()
            container_id = str(container["Id"]) if container else None
        else:
            container_id = (self._running_ids.pop(version, None)
                            or await app_docker.container_id_by_name(self.host, self.role.container_name(version)))
        if container_id:
            await app_docker.stop(self.host, container_id, commands.stop_timeout(self.config, self.role))

    async def rename(self, version: str, new_version: str) -> None:
        self.show(commands.rename(self.role, version, new_version))
        await app_docker.rename(self.host, self.role.container_name(version), self.role.container_name(new_version))

    @property
    def env_file_path(self) -> str:
        return contract.role_env_path(self.config.service, self.config.destination, self.role.name)

    def env_file_content(self) -> str:
        spec = self.role.env(self.host_name)
        return contract.env_file_content({name: self.run.secrets[key] for name, key in spec.secrets})

    async def write_env_file(self) -> None:
        """`mkdir -p .../env/roles` + upload `<role>.env` with mode 0600 (secret values only over SFTP)."""
        path = self.env_file_path
        self.show(f"mkdir -p {path.rsplit('/', 1)[0]}")
        self.show(f"upload {path} (mode 0600)")
        await self.host.write_file(path, self.env_file_content().encode(), mode=0o600)

    async def run_container(self, version: str) -> str:
        """Kamal's `docker run --detach ...` of the new version; the new container's id (12 hex) when the
        engine reported it, else ""."""
        hostname = contract.app_hostname(self.host_name)
        command = commands.run(self.config, self.role, self.host_name, version, hostname)
        self.show(command)
        return await run_docker_command(self.run, self.host_name, command,
                                        {self.env_file_path: self.env_file_content()})

    async def proxy_deploy(self, target: str, version: str) -> None:
        self.show(commands.proxy_deploy(self.config, self.role, target, version))
        assert self.role.proxy is not None
        options: dict[str, object] = {"target": f"{target}:{self.role.proxy.app_port}"}
        options.update(commands.proxy_deploy_options(self.config, self.role.proxy, self.role, version))
        argv = ["kamal-proxy", "deploy", self.role.container_prefix, *contract.optionize(options, with_="=",
                                                                                            escape=False)]
        # The exec's process is spawned now, while the new container starts (the slow part of a `docker
        # exec`), and released into `kamal-proxy deploy` once the container answers (wait_until_answering),
        # so the proxy's first health check passes and no interval is lost.
        ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(self.proxy_exec(argv, ready=ready))
        try:
            await self.wait_until_answering(target)
        except BaseException:
            ready.set_result(False)  # the shell exits without running kamal-proxy
            await asyncio.wait((task,))
            if not task.cancelled():
                task.exception()  # retrieved: nothing switched, the cancellation is what matters
            raise
        ready.set_result(True)
        # Once kamal-proxy is told to switch it finishes inside its container whatever happens to us:
        # wait for its answer even when cancelled, so `switched` says what really serves.
        cancelled = False
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            self.switched = not task.cancelled() and task.exception() is None
            raise asyncio.CancelledError
        task.result()
        self.switched = True

    async def wait_until_answering(self, container: str) -> None:
        """Hand the container to kamal-proxy once its health check path answers 2xx, for at most one
        health-check interval.

        kamal-proxy checks a new target at once and then once per interval: called while the app is
        still starting, the deploy waits a whole interval for nothing. Probing first (from the host,
        over the SSH connection) lets the proxy's first check pass; capped at one interval, it can
        never make the switch later than without it. Purely advisory: any failure just goes on.
        """
        proxy = self.role.proxy
        if proxy is None:
            return
        path = proxy.healthcheck_path or "/up"
        interval = float(proxy.healthcheck_interval or 1)
        try:
            details = await app_docker.inspect_container(self.host, container)
        except Exception:
            return
        network = ((details.get("NetworkSettings") or {}).get("Networks") or {}).get(contract.NETWORK) or {}
        address = network.get("IPAddress")
        if not address:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + interval
        pause = PROBE_FIRST_PAUSE_S
        while loop.time() < deadline:
            status = await self.host.http_status(address, proxy.app_port, path, timeout=max(deadline - loop.time(),
                                                                                               0.05))
            if status is not None and 200 <= status < 300:
                return
            await asyncio.sleep(pause)
            pause = min(pause * PROBE_PAUSE_GROWTH, PROBE_LONGEST_PAUSE_S)

    async def proxy_exec(self, argv: list[str], *, ready: asyncio.Future[bool] | None = None) -> str:
        """`docker exec kamal-proxy ARGV...`; with `ready`, spawned at once and run when it resolves True
        (resolved False: nothing runs and this returns "")."""
        if ready is None:
            result = await app_docker.exec_in_container(self.host, contract.PROXY_CONTAINER, argv)
        else:
            gated = await app_docker.exec_when_ready(self.host, contract.PROXY_CONTAINER, argv, ready)
            if gated is None:
                if not await asyncio.shield(ready):
                    return ""
                gated = await app_docker.exec_in_container(self.host, contract.PROXY_CONTAINER, argv)
            result = gated
        exit_code, output = result.exit_code, result.output
        for line in output.splitlines():
            self.run.output(self.step, line, host=self.host_name)
        if exit_code != 0:
            detail = output.strip().splitlines()[-1] if output.strip() else f"exit {exit_code}"
            raise BootError(f"kamal-proxy {argv[1]} {self.role.container_prefix} failed: {detail}")
        return output

    async def wait_until_healthy(self, version: str) -> None:
        """Kamal's Poller: `healthy`, or `running` still after readiness_delay, within deploy_timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.deploy_timeout
        attempt = 1
        while True:
            state = await self.status(version)
            if state == "running" and self.config.readiness_delay > 0:
                self.run.output(self.step, "Container is running, waiting for readiness delay of "
                                f"{self.config.readiness_delay} seconds", host=self.host_name)
                await asyncio.sleep(self.config.readiness_delay)
                state = await self.status(version)
            if state in ("running", "healthy"):
                self.run.output(self.step, "Container is healthy!", host=self.host_name)
                self.switched = True
                return
            left = deadline - loop.time()
            if left <= 0:
                raise BootError(f"container not ready after {self.config.deploy_timeout} seconds ({state})")
            await asyncio.sleep(min(attempt, left))
            attempt += 1

    async def failure_report(self, version: str) -> str:
        """The new container's last log lines and its health log (for the error message)."""
        lines: list[str] = []
        container = await app_docker.container_id_by_name(self.host, self.role.container_name(version))
        if container is None:
            return "Could not fetch logs for " + version
        self.show(commands.logs(commands.container_id_for(self.role.container_name(version))))
        lines += await app_docker.logs(self.host, container, tail=LOG_LINES_ON_FAILURE, timestamps=True)
        self.show(commands.health_log(self.role, version))
        lines.append(await app_docker.health_log(self.host, container))
        return "\n".join(lines)

    async def tag_latest(self, version: str) -> None:
        self.show(commands.tag_latest(self.config, version))
        await app_docker.tag(self.host, f"{self.config.repository}:{version}", self.config.latest_image)


async def run_docker_command(run: Run, host_name: str, command: str, env_files: dict[str, str]) -> str:
    """Run one of Kamal's detached `docker run` strings: through the Engine API when the translation
    (`app.remote.docker_ops`) can express it exactly, otherwise the very string over SSH. The container's
    id (12 hex) when the engine reported it, else ""."""
    outcome = await docker_ops.run_container(run.host(host_name), command, env_files=env_files)
    return outcome.container_id[:12] if outcome.via == "api" else ""
