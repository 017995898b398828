"""`app boot`: Kamal's zero-downtime switch to a new version, host by host, role by role.

Order (Kamal 2.11, cli/app.rb + cli/app/boot.rb): prepare every app host (error pages, assets,
custom TLS); then per boot group (`boot.limit` hosts, primary-role hosts first): pre-app-boot hook,
boot each (host, role), post-app-boot hook, `boot.wait`; finally tag the image as latest on all
app hosts. Non-primary roles wait at a barrier until the first primary container is healthy.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from app import contract
from app.config.model import Role
from app.engine import app_commands as commands
from app.engine import audit
from app.engine.app_host import AppOnHost, BootError
from app.engine.events import Diagnosis
from app.engine.hooks import run_hook
from app.engine.runner import Run
from app.remote import app_docker
from app.remote.docker_errors import DockerCommandError

ERROR_PAGE_PATTERNS = ("4??.html", "5??.html")
T = TypeVar("T")


class HaltedAtBarrier(BootError):
    """A non-primary role did not boot because the first primary container failed."""


class Barrier:
    """Opened by the first healthy primary container, closed by the first failed one (set once)."""

    def __init__(self) -> None:
        self._state: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def _set(self, value: bool) -> bool:
        if self._state.done():
            return False
        self._state.set_result(value)
        return True

    def open(self) -> bool:
        return self._set(True)

    def close(self) -> bool:
        return self._set(False)

    async def wait(self) -> None:
        if not await asyncio.shield(self._state):
            raise HaltedAtBarrier("Halted at barrier")


def boot_groups(hosts: Sequence[str], limit: int | None) -> list[list[str]]:
    """`app_hosts.each_slice(limit)`, or one group of all hosts."""
    hosts = list(hosts)
    if not limit:
        return [hosts] if hosts else []
    return [hosts[index:index + limit] for index in range(0, len(hosts), limit)]


def group_limit(run: Run) -> int | None:
    return run.config.boot.limit_for(len(run.config.all_hosts))


async def on_roles(run: Run, roles: Sequence[Role], hosts: Sequence[str], work: Callable[[str, Role], Awaitable[None]],
                   *, parallel: bool) -> None:
    """Kamal's on_roles: hosts in parallel with their roles in order, or (parallel) one task per role."""
    if parallel:
        async def role_task(role: Role) -> None:
            await run.on_hosts([host for host in hosts if host in role.hosts], lambda host: work(host, role))

        results = await asyncio.gather(*(role_task(role) for role in roles if set(role.hosts) & set(hosts)),
                                       return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        for error in errors:
            if isinstance(error, asyncio.CancelledError):
                raise error
        if errors:
            raise errors[0]
        return

    async def host_task(host: str) -> None:
        for role in roles:
            if host in role.hosts:
                await work(host, role)

    await run.on_hosts(hosts, host_task)


# ---------------------------------------------------------------- preparation

def error_page_files(run: Run) -> list[str]:
    if not run.config.error_pages_path:
        return []
    directory = run.config.path(run.config.error_pages_path)
    files: list[str] = []
    for pattern in ERROR_PAGE_PATTERNS:
        files += glob.glob(os.path.join(directory, pattern))
    return sorted(files)


async def upload_error_pages(run: Run, host_name: str, version: str) -> None:
    files = error_page_files(run)
    if not files:
        return
    host = run.host(host_name)
    config = run.config
    root = commands.error_pages_root(config)
    target = contract.error_pages_dir(config.service, config.destination, version)
    run.output("app.prepare", f"$ mkdir -p {root}", host=host_name, stream="command")
    await host.makedirs(root)
    await host.makedirs(target, recheck=True)  # its mode is set next: a folder gone since must be made
    sftp = await host.sftp()
    await sftp.chmod(target, 0o700)
    for path in files:
        with open(path, "rb") as handle:
            await host.write_file(f"{target}/{os.path.basename(path)}", handle.read(), mode=0o700)


async def prepare_assets(run: Run, host_name: str, role: Role, version: str) -> None:
    if not role.assets:
        return
    app = AppOnHost(run, host_name, role, step="app.prepare")
    host = run.host(host_name)
    extract = commands.extract_assets(run.config, role, version)
    app.show(extract)
    await host.run(extract)
    old_version = await app.current_running_version()
    sync = commands.sync_asset_volumes(run.config, role, version, old_version)
    app.show(sync)
    await host.run(sync)


async def write_tls_certificates(run: Run, host_name: str, role: Role) -> None:
    proxy = role.proxy
    if proxy is None or not proxy.custom_ssl_certificate:
        return
    config = run.config
    host = run.host(host_name)
    for filename, secret in (("cert.pem", proxy.certificate_pem), ("key.pem", proxy.private_key_pem)):
        path = contract.tls_path(config.service, config.destination, filename, role.name)
        run.output("app.prepare", f"upload {path} (mode 0644)", host=host_name, stream="command")
        await host.write_file(path, run.secrets[str(secret)].encode(), mode=0o644)


async def prepare(run: Run, version: str) -> None:
    """Error pages, assets and TLS files on every app host before any container boots."""
    needs_work = bool(error_page_files(run)) or any(
        role.assets or (role.proxy is not None and role.proxy.custom_ssl_certificate) for role in run.targets.roles)
    if not needs_work:
        return

    async def one(host_name: str) -> None:
        async with run.step("app.prepare", "Prepare error pages, assets and certificates", host=host_name):
            await upload_error_pages(run, host_name, version)
            for role in run.targets.roles_on(host_name):
                await prepare_assets(run, host_name, role, version)
                await write_tls_certificates(run, host_name, role)

    await run.on_hosts(run.targets.app_hosts, one)


# ---------------------------------------------------------------- one host, one role

async def boot_one(run: Run, host_name: str, role: Role, version: str, barrier: Barrier) -> None:
    """Kamal::Cli::App::Boot#run. Cancelled after renaming a same-version container aside and before
    the new one took over, it puts the old container back under its own name."""
    app = AppOnHost(run, host_name, role, step="app.boot")
    title = f"Boot {role.container_name(version)}"
    async with run.step("app.boot", title, host=host_name, role=role.name):
        renamed: str | None = None
        # Kamal asks for the running version after the same-version check; asked alongside it, the answer
        # is ready when no container of this version exists (a deploy of a new version). A rename changes
        # the answer (the running container's name), so then it is asked again.
        running: asyncio.Future[dict[str, Any] | None] | None = asyncio.ensure_future(
            app.current_running_container())
        try:
            if await app.container_id(version):
                await _discard(running)
                running = None
                renamed = f"{version}_replaced_{os.urandom(8).hex()}"
                run.output("app.boot", f"Renaming container {version} to {renamed} as already deployed on "
                           f"{host_name}", host=host_name)
                await app.audit(f"Renaming container {version} to {renamed}")
                await app.rename(version, renamed)
            await _boot_after_rename(run, app, version, barrier, running)
        except asyncio.CancelledError:
            if renamed is not None and not app.switched:
                await finish_shielded(restore_renamed(app, version, renamed))
            raise
        finally:
            if running is not None:
                await _discard(running)  # an answer not used (a failure before it) is not left unread


async def _discard(task: asyncio.Future[Any]) -> None:
    """Cancel a lookup whose answer is not needed (if it still runs) and wait for it to end; its error, if
    any, is read and ignored."""
    task.cancel()
    await asyncio.wait((task,))
    if not task.cancelled():
        task.exception()


async def _boot_after_rename(run: Run, app: AppOnHost, version: str, barrier: Barrier,
                             running: Awaitable[dict[str, Any] | None] | None) -> None:
    role, host_name = app.role, app.host_name
    gatekeeper = role == run.targets.primary_role
    old_version = await app.current_running_version(running)

    if not gatekeeper:
        run.output("app.boot", f"Waiting for the first healthy {run.targets.primary_role.name} container before "
                   f"booting {role.name} on {host_name}...", host=host_name)
        await barrier.wait()

    try:
        await start_new_version(run, app, version)
    except BaseException as error:
        report = ""
        if gatekeeper:
            barrier.close()
        if gatekeeper and not isinstance(error, asyncio.CancelledError | HaltedAtBarrier):
            try:
                report = await app.failure_report(version)
            except Exception as report_error:
                report = f"Could not fetch logs for {version}: {report_error}"
        await asyncio.shield(_stop_quietly(app, version))
        if report:
            run.events.emit(boot_failure_diagnosis(run, app, version, error, report))
            raise BootError(f"Failed to boot {role.name} on {host_name}: {error}\n{report}") from error
        raise

    if gatekeeper and barrier.open():
        run.output("app.boot", f"First {role.name} container is healthy on {host_name}, booting any other roles",
                   host=host_name)

    if old_version:
        await stop_old_version(run, app, old_version, version)


def boot_failure_diagnosis(run: Run, app: AppOnHost, version: str, error: BaseException, report: str) -> Diagnosis:
    """What the engine knows when a new container does not come up: where, why, and the next steps."""
    role, host = app.role.name, app.host_name
    container = app.role.container_name(version)
    lines = [line for line in report.splitlines() if line.strip()]
    from app.diagnose.healthcheck import recognise_failed_health_check

    finding = recognise_failed_health_check(str(error), config=run.config, role=app.role, host=host,
                                            app_lines=lines, container=container)
    if finding is not None:  # the likely cause, from the container's own lines
        return Diagnosis(
            code=finding.code, title=finding.title, host=host, target=container,
            detail="\n".join([finding.what, finding.why, f"Fix: {finding.fix}", *finding.evidence]),
            fixes=(("Read the new container's log", f"shipdeck app logs -r {role} -h {host} -n 200"),
                   ("The previous version still serves; deploy again once fixed", "shipdeck deploy")))
    return Diagnosis(
        code="app.boot_failed", title=f"{container} did not become healthy on {host}: {error}", host=host,
        target=container, detail="\n".join(lines[-20:]),
        fixes=(("Read the new container's log", f"shipdeck app logs -r {role} -h {host} -n 200"),
               ("Check the health check path and port (proxy.healthcheck, proxy.app_port in config/deploy.yml)",
                "shipdeck config"),
               ("The previous version still serves; deploy again once fixed", "shipdeck deploy")))


async def finish_shielded(work: Awaitable[T]) -> T:
    """Run `work` to its end even if the caller is cancelled meanwhile (once or more), then re-raise
    the cancellation."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


RESTORE_ATTEMPTS = 5


async def restore_renamed(app: AppOnHost, version: str, renamed: str) -> None:
    """Undo a same-version boot that was interrupted: remove the new container (it never took over) and
    give the old one its name back, so the serving container keeps its canonical name.

    A request the cancellation interrupted may still be carried out by the engine (a create landing
    after our look), so a rename that finds the name taken clears it again and retries."""
    host = app.host
    canonical, aside = app.role.container_name(version), app.role.container_name(renamed)
    for attempt in range(1, RESTORE_ATTEMPTS + 1):
        if not await app_docker.container_id_by_name(host, aside):
            return  # the rename never happened: nothing to undo
        new_id = await app_docker.container_id_by_name(host, canonical)
        if new_id:
            app.show(f"docker rm --force {canonical}")
            await app_docker.remove_container(host, new_id, force=True)
        app.show(commands.rename(app.role, renamed, version))
        try:
            await app_docker.rename(host, aside, canonical)
            break
        except DockerCommandError:
            if attempt == RESTORE_ATTEMPTS:
                raise
            await asyncio.sleep(0.2 * attempt)
    app.run.output(app.step, f"Interrupted: container {canonical} keeps its name", host=app.host_name)


async def _stop_quietly(app: AppOnHost, version: str) -> None:
    try:
        await app.stop(version)
    except Exception as error:
        app.run.output(app.step, f"stopping {version} failed: {error}", host=app.host_name, stream="stderr")


async def start_new_version(run: Run, app: AppOnHost, version: str) -> None:
    role = app.role
    await app.audit(f"Booted app version {version}")
    await app.write_env_file()
    # never half-done: created and started, or not at all
    created = await finish_shielded(app.run_container(version))
    if role.running_proxy:
        # Kamal looks the new container up by name; the engine's answer to the create is that same id.
        endpoint = created or await app.container_id(version)
        if created:
            app.show(commands.container_id_for(role.container_name(version)))
        if not endpoint:
            raise BootError(f"Failed to get endpoint for {role.name} on {app.host_name}, did the container boot?")
        await app.proxy_deploy(endpoint, version)
    else:
        await app.wait_until_healthy(version)


async def stop_old_version(run: Run, app: AppOnHost, old_version: str, version: str) -> None:
    await _stop_quietly(app, old_version)
    host = run.host(app.host_name)
    if app.role.assets:
        cleanup = commands.clean_up_assets(run.config, app.role, version)
        app.show(cleanup)
        await host.run(cleanup, check=False)
    if run.config.error_pages_path:
        cleanup = commands.clean_up_error_pages(run.config, version)
        app.show(cleanup)
        await host.run(cleanup, check=False)


# ---------------------------------------------------------------- the whole boot

async def boot(run: Run, version: str) -> None:
    """Boot `version` on every targeted app host and role (the caller holds the lock)."""
    await prepare(run, version)
    barrier = Barrier()
    roles = run.targets.roles
    for group in boot_groups(run.targets.app_hosts, group_limit(run)):
        hosts = ",".join(group)
        await run_hook(run, "pre-app-boot", hosts=hosts)
        await on_roles(run, roles, group, lambda host, role: boot_one(run, host, role, version, barrier),
                       parallel=bool(run.config.boot.parallel_roles))
        await run_hook(run, "post-app-boot", hosts=hosts)
        if run.config.boot.wait:
            await asyncio.sleep(float(run.config.boot.wait))
    await tag_latest(run, version)


async def tag_latest(run: Run, version: str) -> None:
    image = f"{run.config.repository}:{version}"

    async def one(host_name: str) -> None:
        async with run.step("app.tag", f"Tag {image} as {run.config.latest_tag}", host=host_name):
            await audit.record(run.host(host_name), run.config, f"Tagging {image} as the latest image")
            run.output("app.tag", f"$ {commands.tag_latest(run.config, version)}", host=host_name, stream="command")
            await app_docker.tag(run.host(host_name), image, run.config.latest_image)

    await run.on_hosts(run.targets.app_hosts, one)
