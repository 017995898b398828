"""`Fleet`: the engine as a library. Opened once from a project (or from hosts alone, in server mode),
it keeps one SSH connection per host for its whole life, answers `status()`, streams `watch()` and
`logs()`, and starts operations that each return a `Run` handle (app.engine.api).

It runs inside whatever event loop its face owns: it never calls `asyncio.run`, installs signal
handlers, reads argparse or prints. Confirmations (destructive steps, unknown host keys) go to the
`Confirmer` it was opened with.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from app.config.model import Config
from app.engine import api
from app.engine.confirm import ConfirmationRequest, Confirmer, Effect, FlagConfirmer
from app.engine.events import DEFAULT_CAPACITY, EventLog
from app.engine.handle import RunHandle
from app.engine.hooks import pre_connect
from app.engine.runner import Run as RunContext
from app.engine.runner import RunOptions
from app.engine.targets import Targets
from app.errors import UsageError
from app.remote.errors import HostKeyUnknown
from app.remote.host import IDLE, RemoteHost, RemoteStats
from app.remote.pool import HostPool
from app.remote.ssh import SSHTarget

Operation = Callable[[RunContext], Awaitable[Any]]
EVERYWHERE = api.Selection()  # every host and role
DEPLOY = api.DeployOptions()  # build, push, deploy HEAD


def _commit(version: str | None) -> str | None:
    return version.split("_uncommitted_", 1)[0] if version else version


class Fleet:
    """Implements `app.engine.api.FleetAPI`. Open with `Fleet.open(...)`, `Fleet.open_servers(...)` or
    (no connection yet, synchronously) `Fleet.from_project(...)`; always `close()` (or `async with`)."""

    def __init__(self, *, config: Config | None, secrets: Any, targets: Callable[[str], SSHTarget],
                 hosts: Sequence[str], confirmer: Confirmer | None = None, confirm_host_keys: bool = True,
                 event_capacity: int = DEFAULT_CAPACITY, version_pinned: bool = False) -> None:
        self.config = config
        self.secrets = secrets
        self.confirmer: Confirmer = confirmer or FlagConfirmer()
        self.event_capacity = event_capacity
        self.hosts: tuple[str, ...] = tuple(dict.fromkeys(hosts))
        self.service: str | None = config.service if config is not None else None
        self.destination: str | None = config.destination if config is not None else None
        self._version_pinned = version_pinned
        max_starts = config.sshkit.max_concurrent_starts if config is not None else 30
        self.pool = HostPool(targets, max_concurrent_starts=max_starts)
        self.pool.on_first_connect = self._pre_connect
        self.pool.on_state = self._host_state_changed
        if confirm_host_keys:
            self.pool.confirm_host_key = self._confirm_host_key
        self._host_key_lock = asyncio.Lock()
        self._runs: list[RunHandle] = []
        self._last_context: RunContext | None = None
        self._state_listeners: list[Callable[[RemoteHost], None]] = []
        self._closed = False
        self._watch_hub: Any = None  # app.engine.watch.WatchHub, started by the first watch()
        self.status_caches: dict[str, Any] = {}  # app.engine.status.HostCache per host

    # -- opening and closing --------------------------------------------------------------------

    @classmethod
    def from_project(cls, config_file: str = "config/deploy.yml", destination: str | None = None,
                     version: str | None = None, *, confirmer: Confirmer | None = None,
                     confirm_host_keys: bool = True, event_capacity: int = DEFAULT_CAPACITY) -> Fleet:
        """Load the project (config errors raise ConfigError, exit 2); no connection is opened yet."""
        from app.engine.project import open_project, ssh_target

        config, secrets = open_project(config_file, destination, version)
        return cls(config=config, secrets=secrets, targets=lambda host: ssh_target(config, host, secrets),
                   hosts=config.all_hosts, confirmer=confirmer, confirm_host_keys=confirm_host_keys,
                   event_capacity=event_capacity, version_pinned=version is not None)

    @classmethod
    async def open(cls, config_file: str = "config/deploy.yml", destination: str | None = None,
                   version: str | None = None, *, confirmer: Confirmer | None = None, connect: bool = True,
                   confirm_host_keys: bool = True, event_capacity: int = DEFAULT_CAPACITY) -> Fleet:
        """Open a project's fleet; with `connect` every host is connected now (in the background) and
        kept connected, reconnecting with backoff."""
        fleet = cls.from_project(config_file, destination, version, confirmer=confirmer,
                                 confirm_host_keys=confirm_host_keys, event_capacity=event_capacity)
        if connect:
            fleet.connect()
        return fleet

    @classmethod
    async def open_servers(cls, servers: Sequence[str], *, confirmer: Confirmer | None = None,
                           connect: bool = True, confirm_host_keys: bool = True,
                           ssh_config: bool | tuple[str, ...] = True,
                           event_capacity: int = DEFAULT_CAPACITY) -> Fleet:
        """Server mode: no project; `servers` are `[user@]host[:port]`. Every Kamal app on them is found by
        its labels (status, watch and logs work; operations need a project)."""
        from app.engine.project import server_target

        if not servers:
            raise UsageError("server mode needs at least one host")
        targets = {target.host: target for target in (server_target(spec, ssh_config=ssh_config)
                                                        for spec in servers)}
        fleet = cls(config=None, secrets=None, targets=lambda host: targets[host], hosts=tuple(targets),
                    confirmer=confirmer, confirm_host_keys=confirm_host_keys, event_capacity=event_capacity)
        if connect:
            fleet.connect()
        return fleet

    def connect(self) -> None:
        """Connect every host now and keep each connected (reconnecting with backoff)."""
        self.pool.keep_connected(list(self.hosts))

    async def close(self) -> None:
        """Cancel running operations (each releases its lock), stop watching, close every connection."""
        if self._closed:
            return
        self._closed = True
        for handle in self._runs:
            handle.cancel("the fleet was closed")
        for handle in list(self._runs):
            await handle.result()
        if self._watch_hub is not None:
            await self._watch_hub.close()
        await self.pool.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- connections ----------------------------------------------------------------------------

    def connection_state(self, host: str) -> api.ConnectionState:
        if host not in self.pool:
            return api.ConnectionState.CONNECTING
        state = self.pool[host].state
        return api.ConnectionState.CONNECTING if state == IDLE else api.ConnectionState(state)

    def connection_error(self, host: str) -> str | None:
        return self.pool[host].error if host in self.pool else None

    def stats(self) -> dict[str, RemoteStats]:
        """What crossed the network per host since the fleet opened (connections opened, round trips)."""
        return self.pool.stats_by_host()

    @property
    def connections_opened(self) -> int:
        return self.pool.stats.connections

    def on_host_state(self, listener: Callable[[RemoteHost], None]) -> None:
        self._state_listeners.append(listener)

    def _host_state_changed(self, host: RemoteHost) -> None:
        for listener in list(self._state_listeners):
            listener(host)

    async def _confirm_host_key(self, error: HostKeyUnknown) -> bool:
        """Trust on first use: the operator sees the fingerprint and says yes, or nothing is trusted."""
        request = ConfirmationRequest(
            action="ssh.trust_host_key", target=error.host,
            title=f"Trust the SSH host key of {error.host}?",
            consequence=f"{error.host} presents a host key that is in no known_hosts file. Trust it only if this "
                        f"fingerprint is the server's (ask its administrator): {error.key_type} {error.fingerprint}",
            effects=(Effect(error.host, f"record {error.key_type} {error.fingerprint} in "
                                        "~/.config/shipdeck/known_hosts"),))
        async with self._host_key_lock:  # one question at a time, even with many new hosts
            try:
                return bool(await self.confirmer.confirm(request))
            except UsageError:  # headless: not approved
                return False

    async def _pre_connect(self) -> None:
        if self.config is None:
            return
        context = self._last_context or self._context("connect", None, RunOptions())
        await pre_connect(context)

    # -- operations -----------------------------------------------------------------------------

    def _require_project(self) -> Config:
        if self.config is None:
            raise UsageError("this operation needs a project (config/deploy.yml); server mode is read-only")
        return self.config

    def deploy_version(self) -> str | None:
        """The version a deploy would ship now: the pinned one, else the project's git HEAD at this moment."""
        config = self.config
        if config is None:
            return None
        if self._version_pinned:
            return config.version
        from app.config.version import resolve_version

        info = resolve_version(None, cwd=config.project_dir, environ=os.environ,
                               builder_context_set=config.builder.context is not None)
        return info.version

    def _context(self, command: str, subcommand: str | None, options: RunOptions) -> RunContext:
        config = self._require_project()
        if options.version is not None:
            if options.version != config.version:
                config = dataclasses.replace(config, version=options.version)
        elif not self._version_pinned:
            # A long-lived fleet ships what HEAD is now. The same commit keeps the version read at open
            # (with `builder.context` and a dirty tree Kamal's version has a random suffix per call).
            version = self.deploy_version()
            if version is not None and _commit(version) != _commit(config.version):
                config = dataclasses.replace(config, version=version)
        targets = Targets(config, hosts=options.hosts, roles=options.roles, primary=options.primary)
        context = RunContext(config=config, secrets=self.secrets, pool=self.pool,
                             events=EventLog(self.event_capacity), confirmer=self.confirmer, options=options,
                             targets=targets, command=command, subcommand=subcommand)
        context.on_lock_change = lambda held: self._lock_changed(context, held)
        return context

    def _lock_changed(self, context: RunContext, held: bool) -> None:
        if self._watch_hub is not None:
            self._watch_hub.lock_changed(context.config, context.targets.primary_host, held)

    def start(self, command: str, subcommand: str | None, operation: Operation, *,
              options: RunOptions | None = None) -> RunHandle:
        """Start any engine operation (`operation(run_context)`) as a Run; the named methods below are
        this with the operation filled in."""
        if self._closed:
            raise UsageError("the fleet is closed")
        context = self._context(command, subcommand, options or RunOptions())
        self._last_context = context
        handle = RunHandle(context, operation, on_done=self._runs.remove)
        self._runs.append(handle)
        return handle

    @staticmethod
    def _options(selection: api.Selection, **values: Any) -> RunOptions:
        return RunOptions(hosts=tuple(selection.hosts), roles=tuple(selection.roles), primary=selection.primary,
                          **values)

    def _deploy_options(self, options: api.DeployOptions, selection: api.Selection) -> RunOptions:
        return self._options(selection, skip_push=options.skip_push, no_cache=options.no_cache,
                             version=options.version)

    def setup(self, options: api.DeployOptions = DEPLOY,
              selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import deploy

        return self.start("setup", None, deploy.setup, options=self._deploy_options(options, selection))

    def deploy(self, options: api.DeployOptions = DEPLOY,
               selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import deploy

        return self.start("deploy", None, deploy.deploy, options=self._deploy_options(options, selection))

    def redeploy(self, options: api.DeployOptions = DEPLOY,
                 selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import deploy

        return self.start("redeploy", None, deploy.redeploy, options=self._deploy_options(options, selection))

    def rollback(self, version: str, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import deploy

        return self.start("rollback", None, lambda run: deploy.rollback(run, version),
                          options=self._options(selection))

    def app_boot(self, version: str | None = None, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import deploy

        return self.start("app", "boot", lambda run: deploy.boot_app(run, version),
                          options=self._options(selection, version=version))

    def app_start(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine.commands import app

        return self.start("app", "start", app.start, options=self._options(selection))

    def app_stop(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine.commands import app

        return self.start("app", "stop", app.stop, options=self._options(selection))

    def app_remove(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine.commands import app

        return self.start("app", "remove", app.remove, options=self._options(selection))

    def app_exec(self, command: str, *, reuse: bool = False, env: dict[str, str] | None = None,
                 selection: api.Selection = EVERYWHERE) -> RunHandle:
        """A command in a new (or with `reuse` the running) app container on every app host; its output
        per host arrives as `Rows`; the result's exit code is 1 if it failed anywhere."""
        from app.engine.commands import app
        from app.engine.options import ExecOptions

        options = ExecOptions(command=command, reuse=reuse, env=dict(env or {}))
        return self.start("app", "exec", lambda run: app.exec_(run, options), options=self._options(selection))

    def accessory_boot(self, name: str, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import accessories

        return self.start("accessory", "boot", lambda run: accessories.boot(run, name),
                          options=self._options(selection))

    def accessory_reboot(self, name: str, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import accessories

        return self.start("accessory", "reboot", lambda run: accessories.reboot(run, name),
                          options=self._options(selection))

    def accessory_remove(self, name: str, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import accessories

        return self.start("accessory", "remove", lambda run: accessories.remove(run, name),
                          options=self._options(selection))

    def proxy_boot(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import proxy_ops

        return self.start("proxy", "boot", proxy_ops.boot, options=self._options(selection))

    def proxy_reboot(self, *, rolling: bool = False, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import proxy_ops

        return self.start("proxy", "reboot", lambda run: proxy_ops.reboot(run, rolling=rolling),
                          options=self._options(selection))

    def lock_acquire(self, message: str) -> RunHandle:
        from app.engine.commands import lock

        return self.start("lock", "acquire", lambda run: lock.acquire(run, message))

    def lock_release(self) -> RunHandle:
        from app.engine.commands import lock

        return self.start("lock", "release", lock.release)

    def prune(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        from app.engine import prune

        return self.start("prune", "all", prune.prune_all, options=self._options(selection))

    def details(self, selection: api.Selection = EVERYWHERE) -> RunHandle:
        """The proxy, app and accessory containers per host, as `Rows` events."""
        from app.engine.commands import main

        return self.start("details", None, main.details, options=self._options(selection))

    # -- diagnose and repair --------------------------------------------------------------------

    async def diagnose(self, *, environ: dict[str, str] | None = None, tail: int | None = None) -> api.DiagnosisReport:
        """Every read-only check (app.engine.doctor): config, secrets, hosts, kamal-proxy versions,
        accessories, the deploy lock, and the Postgres password probe when the logs show rejected logins."""
        from app.engine import doctor

        return await doctor.diagnose(self, environ=environ, tail=tail or doctor.DEFAULT_TAIL)

    def repair(self, repair_id: str, *, restore: bool = True) -> RunHandle:
        """Run a repair a finding offers: `<accessory>-password` (reset in place, then the app is rebooted),
        `<accessory>-wipe` (confirmed `accessory.wipe:<accessory>`: back up, wipe, boot, restore),
        `proxy-reboot` (one host at a time when there are several) or `lock-release`; the last two are the
        operations of the same name, confirmed as they always are."""
        from app.engine import repairs

        if repair_id == "proxy-reboot":  # repairs.OPERATION_REPAIRS
            return self.proxy_reboot(rolling=len(self._require_project().proxy_hosts) > 1)
        if repair_id == "lock-release":
            return self.lock_release()
        name, kind = repairs.parse_repair_id(repair_id)
        if kind == "password":
            return self.start("doctor", "repair", lambda run: repairs.reset_password(run, name))
        return self.start("doctor", "repair", lambda run: repairs.backup_and_wipe(run, name, restore_dump=restore))

    # -- status, watch, logs --------------------------------------------------------------------

    async def status(self, *, wait: bool = True) -> api.FleetStatus:
        """One snapshot of every host, app container, accessory, proxy and lock (hosts concurrently,
        over the open connections). A host whose first connection is still being opened is waited for;
        with `wait=False` it is reported as connecting (a dashboard's first frame). A host that failed
        is reported at once with its error (the fleet keeps retrying it in the background)."""
        from app.engine.status import gather_status

        return await gather_status(self, wait=wait)

    def watch(self) -> AsyncIterator[api.FleetChange]:
        """Changes as they happen: Docker's event stream on every host, connection drops and returns,
        and the deploy lock taken and released."""
        return self._hub().subscribe()

    def keep_watching(self) -> None:
        """Follow every host's Docker events from now on (status() does, to keep its caches honest)."""
        self._hub().start()

    async def watch_ready(self, hosts: Sequence[str] | None = None, timeout: float = 5.0) -> None:
        """Wait until Docker's event streams of `hosts` (default: all) are open (at most `timeout` seconds):
        after that, no container start escapes `watch()`."""
        await self._hub().ready(list(hosts or self.hosts), timeout)

    def _hub(self) -> Any:
        from app.engine.watch import WatchHub

        if self._watch_hub is None:
            self._watch_hub = WatchHub(self)
        return self._watch_hub

    def logs(self, sources: Sequence[api.LogSource] = (), *, since: str | None = None, tail: int | None = None,
             follow: bool = False, grep: str | None = None) -> AsyncIterator[api.LogEvent]:
        """Log lines of the selected containers (default: every app role), masked, merged as they come;
        with `follow`, a deploy's new container is followed (`LogSwitched`) and a dropped stream resumes
        with a `LogGap`; a host that cannot be reached is reported with a `LogUnreachable`."""
        from app.engine.logs import stream_logs

        return stream_logs(self, tuple(sources) or (api.LogSource.app(),), since=since, tail=tail, follow=follow,
                           grep=grep)
