"""The repairs of a tainted Postgres data directory, as operations over a Run.

Reset in place: probe over TCP with the password the containers receive; if it is refused, send
`ALTER ROLE ... PASSWORD '<SCRAM verifier computed here>'` on the stdin of `psql` over the accessory's
local socket (`docker exec -i`, through the Engine API), verify over TCP, then reboot the app
containers so that they reconnect. No plaintext password is ever in an argv, a log line or a query.

Back up, then wipe (confirmed with `accessory.wipe:<name>`): `pg_dumpall` streamed into a local file
(0600), the container removed and its data directory emptied (or its volume removed), the accessory
booted afresh, and, unless told not to, the dump restored and the configured password set again (the
dump carries the old password's verifier).
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.config.model import Accessory
from app.diagnose import postgres, scram
from app.diagnose.findings import LOCAL, Step
from app.diagnose.postgres import DataKind, ProbeOutcome
from app.diagnose.tainted_volume import wipe_plan
from app.engine import accessories, app_boot, lock
from app.engine.app_host import AppOnHost
from app.engine.confirm import ConfirmationRequest, Effect
from app.engine.deploy import using_version
from app.engine.doctor import dump_path_for, probe_password
from app.engine.runner import Run
from app.errors import ShipdeckError, UsageError
from app.remote import app_docker, docker_ops

READY_TIMEOUT = 120.0  # seconds a freshly booted accessory gets to accept TCP logins


class RepairError(ShipdeckError):
    """A repair step failed; nothing after it ran."""


class SecretView(Mapping[str, str]):
    """The run's secrets as the Mapping `app.diagnose.postgres` reads (lookups only, nothing listed)."""

    def __init__(self, secrets: Any) -> None:
        self._secrets = secrets

    def __getitem__(self, key: str) -> str:
        value = self._secrets.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._secrets.get(key) is not None

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


# ---------------------------------------------------------------- which repair

# Repairs that are operations of their own (Fleet.repair runs them as such).
OPERATION_REPAIRS = frozenset({"proxy-reboot", "lock-release"})


def parse_repair_id(repair_id: str) -> tuple[str, str]:
    """`db-password` -> ("db", "password"); `db-wipe` -> ("db", "wipe")."""
    name, _, kind = repair_id.rpartition("-")
    if not name or kind not in ("password", "wipe"):
        raise UsageError(f"unknown repair {repair_id!r}: expected ACCESSORY-password, ACCESSORY-wipe, proxy-reboot "
                         "or lock-release (e.g. db-password, db-wipe)")
    return name, kind


def postgres_accessory(run: Run, name: str) -> Accessory:
    accessory = accessories.lookup(run, name)
    if not postgres.is_postgres(accessory):
        raise UsageError(f"{name} is not a Postgres accessory (image {accessory.image}); its password cannot be reset")
    return accessory


def credentials(run: Run, accessory: Accessory) -> tuple[str, str]:
    """(user, password the containers receive) for the accessory."""
    view = SecretView(run.secrets)
    password = postgres.container_password(accessory, view)
    if password is None:
        raise UsageError(f"{accessory.name} has no POSTGRES_PASSWORD in its env (clear or secret)")
    if "\n" in password or "\0" in password:
        raise UsageError(f"{accessory.name}'s POSTGRES_PASSWORD holds a line break; containers never receive it")
    return postgres.postgres_user(accessory, view), password


# ---------------------------------------------------------------- the steps

async def probe_step(run: Run, accessory: Accessory, host: str, user: str, password: str,
                     title: str) -> postgres.ProbeResult:
    async with run.step("repair.probe", title, host=host):
        result = await probe_password(run.host(host), accessory, user, password)
        run.output("repair.probe", f"{accessory.service_name}: the configured password was {result.outcome.value}"
                   + (f" ({result.detail})" if result.detail else ""), host=host)
        return result


async def alter_role(run: Run, accessory: Accessory, host: str, user: str, password: str) -> None:
    """ALTER ROLE with a verifier, on psql's stdin over the local socket."""
    step = postgres.reset_step(accessory, host, user)
    async with run.step("repair.reset_password", f"Set the password of {user} in {accessory.name}", host=host):
        run.output("repair.reset_password", step.describe(), host=host, stream="command")
        payload = scram.alter_role_payload(user, password)
        result = await app_docker.exec_in_container(run.host(host), accessory.service_name,
                                                    postgres.psql_command(user), stdin=payload)
        if result.exit_code != 0:
            raise RepairError(f"psql in {accessory.service_name} exited with {result.exit_code}: "
                              f"{result.stderr.strip() or result.stdout.strip()}")


async def reset_on_host(run: Run, accessory: Accessory, host: str, user: str, password: str) -> bool:
    """True when the password was changed (False: it was already the configured one)."""
    before = await probe_step(run, accessory, host, user, password,
                              f"Log in to {accessory.name} over TCP as {user} with the configured password")
    if before.outcome is ProbeOutcome.ACCEPTED:
        run.notice(f"{accessory.name} on {host} already accepts the configured password; nothing to reset",
                   host=host)
        return False
    if before.outcome is not ProbeOutcome.REJECTED:
        raise RepairError(f"{accessory.name} on {host} cannot be checked ({before.outcome.value}: {before.detail}); "
                          "nothing was changed")
    await alter_role(run, accessory, host, user, password)
    await verify(run, accessory, host, user, password)
    return True


async def verify(run: Run, accessory: Accessory, host: str, user: str, password: str) -> None:
    after = await probe_step(run, accessory, host, user, password,
                             f"Verify: log in to {accessory.name} over TCP with the configured password")
    if after.outcome is not ProbeOutcome.ACCEPTED:
        raise RepairError(f"{accessory.name} on {host} still refuses the configured password after the reset "
                          f"({after.outcome.value}: {after.detail})")


async def running_version(run: Run) -> str | None:
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            version = await AppOnHost(run, host, role, step="repair.app_version").current_running_version()
            if version:
                return version
    return None


async def reboot_app(run: Run) -> None:
    """Boot the running version again on every app host (Kamal's `app boot`), so the app reconnects."""
    version = await running_version(run)
    if version is None:
        run.notice("No app container is running; nothing to reboot", level="warning")
        return
    run.notice(f"Rebooting the app containers (version {version}) so that they reconnect...")
    with using_version(run, version):
        await app_boot.boot(run, version)


async def reset_password(run: Run, name: str, *, reboot: bool = True) -> bool:
    """The in-place reset on every host of the accessory; True when something was changed."""
    accessory = postgres_accessory(run, name)
    user, password = credentials(run, accessory)
    async with lock.held(run):
        changed = await run.on_hosts(accessories.hosts_for(run, accessory),
                                     lambda host: reset_on_host(run, accessory, host, user, password))
        if reboot and any(changed.values()):
            await reboot_app(run)
    return any(changed.values())


# ---------------------------------------------------------------- back up, then wipe

def _without_where(step) -> str:
    """A step as a confirmation lists it under its host: the command, its stdin and stdout."""
    return step.describe().removeprefix(f"{step.where}: ")


def wipe_request(run: Run, accessory: Accessory, plans: Mapping[str, Any]) -> ConfirmationRequest:
    effects = tuple(Effect(step.where if step.where != LOCAL else host, _without_where(step))
                    for host, plan in plans.items() for step in plan.wipe.steps)
    first = next(iter(plans.values()))
    return ConfirmationRequest(
        action="accessory.wipe", target=accessory.name, title=first.wipe.label,
        consequence=first.wipe.consequence, effects=effects, destroys_data=True, typed=first.wipe.typed)


async def dump(run: Run, accessory: Accessory, host: str, user: str, path: str) -> int:
    """pg_dumpall streamed into `path` (created 0600, never overwritten); its size in bytes."""
    step = postgres.dump_step(accessory, host, user, path)
    async with run.step("repair.dump", f"Back up {accessory.name} to {path}", host=host):
        run.output("repair.dump", step.describe(), host=host, stream="command")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            status, errors = await app_docker.exec_into(run.host(host), accessory.service_name,
                                                        postgres.dumpall_command(user), handle.write)
        size = os.path.getsize(path)
        if status != 0 or size == 0:
            raise RepairError(f"pg_dumpall in {accessory.service_name} exited with {status} after {size} bytes: "
                              f"{errors.strip()}; nothing was removed (the partial dump is {path})")
        run.notice(f"Backed up {accessory.name} on {host}: {path}: {size} bytes", host=host)
        return size


async def run_step(run: Run, host: str, step: Step) -> None:
    """One wipe step (a docker command) through the Engine API where it translates."""
    remote = run.host(host)
    argv = step.argv
    run.output("repair.wipe", step.describe(), host=host, stream="command")
    if argv[:3] == ("docker", "container", "stop"):
        await app_docker.stop(remote, argv[3])
    elif argv[:3] == ("docker", "container", "rm"):
        await app_docker.remove_container(remote, argv[-1], force=True)
    elif argv[:2] == ("docker", "run"):
        outcome = await docker_ops.run_container(remote, shlex.join(argv))
        if outcome.exit_code not in (0, None):
            raise RepairError(f"{step.command} exited with {outcome.exit_code}: {outcome.stderr.strip()}")
    else:
        result = await remote.run(step.command, check=False)
        if not result.ok:
            raise RepairError(f"{step.command} exited with {result.exit_status}: {result.stderr.strip()}")


async def wipe_on_host(run: Run, accessory: Accessory, host: str, plan: Any) -> None:
    async with run.step("repair.wipe", f"Remove {accessory.service_name} and its data "
                                       f"({plan.location.describe()})", host=host):
        for step in plan.wipe.steps:
            if step.where == LOCAL or step.argv[:2] == ("docker", "exec"):
                continue  # the dump ran before; the boot runs after
            await run_step(run, host, step)
        if plan.location.kind is DataKind.DIRECTORY:
            remote = run.host(host)
            path = postgres.host_path(plan.location.source, await docker_ops.home_directory(remote))
            left = await remote.run(f"ls -A {shlex.quote(path)}", check=False)
            if left.stdout.strip():
                raise RepairError(f"{path} on {host} is not empty after the wipe")


async def wait_ready(run: Run, accessory: Accessory, host: str, user: str, password: str,
                     timeout: float = READY_TIMEOUT) -> None:
    async with run.step("repair.wait", f"Wait for {accessory.name} to accept logins over TCP", host=host):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = await probe_password(run.host(host), accessory, user, password)
            if result.outcome is ProbeOutcome.ACCEPTED:
                return
            if loop.time() > deadline:
                raise RepairError(f"{accessory.name} on {host} did not accept the configured password within "
                                  f"{timeout:.0f}s ({result.outcome.value}: {result.detail})")
            await asyncio.sleep(1)


async def restore(run: Run, accessory: Accessory, host: str, user: str, password: str, path: str) -> None:
    step = postgres.restore_step(accessory, host, user, path)
    async with run.step("repair.restore", f"Restore {accessory.name} from {path}", host=host):
        run.output("repair.restore", step.describe(), host=host, stream="command")
        with open(path, "rb") as handle:
            data = handle.read()
        result = await app_docker.exec_in_container(run.host(host), accessory.service_name,
                                                    postgres.psql_command(user, stop_on_error=False), stdin=data)
        errors = [line for line in result.stderr.splitlines() if "ERROR:" in line]
        expected = [line for line in errors if "already exists" in line]
        for line in errors:
            run.output("repair.restore", line, host=host, stream="stderr")
        if result.exit_code != 0 or len(errors) > len(expected):
            raise RepairError(f"the restore into {accessory.service_name} reported errors (exit {result.exit_code}); "
                              f"the dump is kept at {path}")
    await alter_role(run, accessory, host, user, password)
    await verify(run, accessory, host, user, password)


async def backup_and_wipe(run: Run, name: str, *, restore_dump: bool = True,
                          environ: Mapping[str, str] | None = None) -> list[str]:
    """Confirmed, then per host: dump, wipe, boot afresh, restore. Returns the dump files written."""
    accessory = postgres_accessory(run, name)
    user, password = credentials(run, accessory)
    environ = dict(os.environ) if environ is None else environ
    hosts = accessories.hosts_for(run, accessory)
    now = datetime.now(UTC)
    plans = {}
    for host in hosts:
        home = await docker_ops.home_directory(run.host(host))
        plans[host] = wipe_plan(run.config, accessory, host, user, dump_path_for(run.config, accessory, host,
                                                                                  environ, now), home)
    if not await run.confirmer.confirm(wipe_request(run, accessory, plans)):
        run.notice("Aborted", level="error")
        return []
    async with lock.held(run):
        for host, plan in plans.items():
            await dump(run, accessory, host, user, plan.dump_path)
        for host, plan in plans.items():
            await wipe_on_host(run, accessory, host, plan)
        await accessories.boot_one(run, accessory)
        for host, plan in plans.items():
            await wait_ready(run, accessory, host, user, password)
            if restore_dump:
                await restore(run, accessory, host, user, password, plan.dump_path)
            else:
                run.notice(f"The dump of {accessory.name} on {host} is kept at {plan.dump_path}; restore it with "
                           f"docker exec -i {accessory.service_name} psql ... < {plan.dump_path}", host=host)
        await reboot_app(run)
    return [plan.dump_path for plan in plans.values()]
