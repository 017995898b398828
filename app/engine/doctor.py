"""`Fleet.diagnose()`: gather, read-only, what the recognisers of `app.diagnose` need, and run them.

Inputs: the config (image references), the secrets (hazards; a missing one), one `status()` snapshot
(unreachable hosts, kamal-proxy versions, accessories not running, the deploy lock), and for each
Postgres accessory the log tails of the app containers and of the accessory since the app containers
started. When those show rejected logins, the password probe logs in over TCP from inside the
accessory's container (`docker exec -i`, the password on stdin) and decides between a tainted data
directory, a changed user and an app that uses another password. Nothing is changed anywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config.model import Accessory, Config
from app.diagnose import postgres
from app.diagnose.deploy_lock import recognise_stale_lock
from app.diagnose.findings import Finding, Severity, shipdeck_argv
from app.diagnose.image_refs import recognise_image_references
from app.diagnose.postgres import ProbeOutcome, ProbeResult
from app.diagnose.proxy_version import recognise_old_proxy
from app.diagnose.secret_hazards import recognise_secret_hazards, secret_uses
from app.diagnose.tainted_volume import auth_failures, needs_password_probe, recognise_tainted_volume
from app.engine import api
from app.errors import ShipdeckError
from app.remote import app_docker

if TYPE_CHECKING:
    from app.engine.fleet import Fleet

DEFAULT_TAIL = 200  # log lines read per container
PROBE_TIMEOUT = 20.0


@dataclass(frozen=True)
class Inputs:
    """Everything one diagnosis looks at (built by `gather`, or by hand in tests)."""

    config: Config
    secrets: Mapping[str, str]  # the secret values that could be resolved (key -> value)
    missing_secrets: tuple[str, ...]
    status: api.FleetStatus
    now: datetime
    environ: Mapping[str, str]


# ---------------------------------------------------------------- secrets

def resolve_secrets(config: Config, secrets: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    """The values of every secret the containers receive; the keys that have none."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for key in secret_uses(config):
        try:
            value = secrets.get(key) if secrets is not None else None
        except ShipdeckError:
            value = None
        if value is None:
            missing.append(key)
        else:
            values[key] = value
    return values, tuple(missing)


def missing_secret_finding(config: Config, keys: Sequence[str]) -> Finding:
    names = ", ".join(keys)
    return Finding(
        code="secrets.missing", title=f"Secret{'s' if len(keys) > 1 else ''} {names} not found",
        what=f"The env of the app or an accessory takes {names} from the secrets, and no value was found.",
        why="A deploy or boot writes the env files from the secrets and stops when one is missing.",
        fix=f"Define {names} in .kamal/secrets (or the destination's file), the keyring "
            f"(shipdeck secrets set {keys[0]}) or the environment.",
        target=names)


# ---------------------------------------------------------------- from the status snapshot

def unreachable_findings(status: api.FleetStatus) -> list[Finding]:
    return [Finding(code="host.unreachable", title=f"{host.name} cannot be reached",
                    what=f"{host.name}: {host.error or host.state.value}.",
                    why="Nothing on this host could be checked, and every deploy to it fails.",
                    fix="Check that the host is up, that sshd answers, and that the SSH user, key and host key "
                        "are the ones in config/deploy.yml (ssh:).",
                    host=host.name, target=host.name)
            for host in status.hosts if not host.reachable]


def accessory_findings(config: Config, status: api.FleetStatus) -> list[Finding]:
    """Configured accessories whose container is missing or not running on a reachable host."""
    reachable = {host.name for host in status.hosts if host.reachable}
    findings = []
    for found in status.accessories:
        if found.service != config.service or found.host not in reachable:
            continue
        if found.state is api.ContainerState.RUNNING:
            continue
        missing = found.state is api.ContainerState.MISSING
        command = shipdeck_argv(config, "accessory", "boot" if missing else "start", found.name)
        findings.append(Finding(
            code="accessory.not_running", title=f"{found.name} is {'not booted' if missing else found.state.value} "
                                                f"on {found.host}",
            what=f"The accessory {found.name} ({found.container}) on {found.host} "
                 + ("has no container." if missing else f"is {found.state.value}."),
            why="Whatever the app needs from it fails until it runs.",
            fix=f"{' '.join(command)}; `shipdeck accessory logs {found.name}` shows why it stopped.",
            host=found.host, target=found.name, severity=Severity.WARNING))
    return findings


def proxy_versions(status: api.FleetStatus) -> dict[str, str | None]:
    return {proxy.host: proxy.version for proxy in status.proxies if proxy.state is api.ContainerState.RUNNING}


def lock_finding(inputs: Inputs) -> Finding | None:
    lock = inputs.status.lock
    if lock is None or not lock.held or lock.host is None:
        return None
    return recognise_stale_lock(lock.details, config=inputs.config, host=lock.host, now=inputs.now)


def offline_findings(inputs: Inputs) -> list[Finding]:
    """Every check that needs nothing beyond the inputs (no further connection)."""
    findings: list[Finding] = []
    findings += recognise_image_references(inputs.config)
    if inputs.missing_secrets:
        findings.append(missing_secret_finding(inputs.config, inputs.missing_secrets))
    findings += recognise_secret_hazards(inputs.config, inputs.secrets, inputs.environ)
    findings += unreachable_findings(inputs.status)
    old_proxy = recognise_old_proxy(proxy_versions(inputs.status), inputs.config)
    if old_proxy is not None:
        findings.append(old_proxy)
    findings += accessory_findings(inputs.config, inputs.status)
    stale = lock_finding(inputs)
    if stale is not None:
        findings.append(stale)
    return findings


# ---------------------------------------------------------------- Postgres

async def probe_password(remote: Any, accessory: Accessory, user: str, password: str,
                         timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """Log in over TCP from inside the accessory's container, the password on the exec's stdin."""
    import asyncio

    probe = postgres.password_probe(accessory, remote.name, user)
    command = list(probe.step.argv[4:])  # docker exec -i NAME <command...>
    try:
        async with asyncio.timeout(timeout):
            result = await app_docker.exec_in_container(remote, accessory.service_name, command,
                                                        stdin=probe.stdin(password))
    except TimeoutError:
        return ProbeResult(ProbeOutcome.UNREACHABLE, f"no answer within {timeout:.0f}s")
    except ShipdeckError as error:
        return postgres.interpret(1, "", str(error))
    return postgres.interpret(result.exit_code, result.stdout, result.stderr)


def app_started(status: api.FleetStatus) -> float | None:
    """When the oldest running app container started: log lines before it belong to containers gone since."""
    started = [app.started_at for app in status.apps if app.running and app.started_at]
    return min(started) if started else None


async def _tail(remote: Any, container: str, tail: int, since: float | None) -> list[str]:
    try:
        return await app_docker.logs(remote, container, tail=tail, since=f"{since:.6f}" if since else None)
    except ShipdeckError:
        return []


async def app_log_lines(fleet: Fleet, status: api.FleetStatus, tail: int) -> list[str]:
    import asyncio

    running = [app for app in status.apps if app.running and status.host(app.host)
               and status.host(app.host).reachable]
    tails = await asyncio.gather(*(_tail(fleet.pool[app.host], app.name, tail, None) for app in running))
    return [line for lines in tails for line in lines]


def probe_password_of(accessory: Accessory, secrets: Mapping[str, str]) -> str | None:
    """The password the accessory's containers receive (after env-file escaping), one line only."""
    password = postgres.container_password(accessory, secrets)
    if password is None or "\n" in password or "\0" in password:
        return None
    return password


def dump_path_for(config: Config, accessory: Accessory, host: str, environ: Mapping[str, str],
                  now: datetime) -> str:
    home = environ.get("HOME") or str(Path.home())
    return postgres.dump_path(postgres.backup_dir(config, environ, home), accessory, host, now)


async def postgres_findings(fleet: Fleet, inputs: Inputs, tail: int = DEFAULT_TAIL) -> tuple[list[Finding],
                                                                                              list[str]]:
    """Tainted volume (and its look-alikes) for every running Postgres accessory; the checks made."""
    config, status = inputs.config, inputs.status
    accessories = [accessory for accessory in config.accessories if postgres.is_postgres(accessory)]
    running = {(found.host, found.name) for found in status.accessories
               if found.state is api.ContainerState.RUNNING and found.service == config.service}
    if not accessories:
        return [], []
    app_lines = await app_log_lines(fleet, status, tail)
    since = app_started(status)
    findings: list[Finding] = []
    checks: list[str] = []
    for accessory in accessories:
        for host in accessory.hosts:
            if (host, accessory.name) not in running:
                continue
            remote = fleet.pool[host]
            accessory_lines = await _tail(remote, accessory.service_name, tail, since)
            if not needs_password_probe(app_lines, accessory_lines):
                checks.append(f"{accessory.name} on {host}: no rejected logins in the app's or its own logs")
                continue
            user = postgres.postgres_user(accessory, inputs.secrets)
            password = probe_password_of(accessory, inputs.secrets)
            if password is None:
                checks.append(f"{accessory.name} on {host}: rejected logins, but no one-line POSTGRES_PASSWORD "
                              "to probe with")
                continue
            probe = await probe_password(remote, accessory, user, password)
            checks.append(f"{accessory.name} on {host}: rejected logins in the logs; the configured password "
                          f"was {probe.outcome.value} over TCP")
            if probe.outcome is ProbeOutcome.ACCEPTED and not auth_failures(app_lines):
                # Only the server saw rejected logins, and the app's password works: some other client
                # (a person, a script, an earlier probe) used a wrong one. Nothing to blame the app for.
                continue
            home = await _home(remote)
            finding = recognise_tainted_volume(
                config, accessory, host, app_lines=app_lines, accessory_lines=accessory_lines, probe=probe,
                dump_path=dump_path_for(config, accessory, host, inputs.environ, inputs.now), user=user, home=home)
            if finding is not None:
                findings.append(finding)
    return findings, checks


async def _home(remote: Any) -> str | None:
    from app.remote.docker_ops import home_directory

    try:
        return await home_directory(remote)
    except Exception:
        return None


# ---------------------------------------------------------------- the whole diagnosis

async def gather(fleet: Fleet, environ: Mapping[str, str], now: datetime | None = None) -> Inputs:
    config = fleet._require_project()
    values, missing = resolve_secrets(config, fleet.secrets)
    status = await fleet.status()
    return Inputs(config=config, secrets=values, missing_secrets=missing, status=status,
                  now=now or datetime.now(UTC), environ=environ)


def checks_of(inputs: Inputs) -> list[str]:
    status = inputs.status
    reachable = [host.name for host in status.hosts if host.reachable]
    return [
        "image and registry references in the config",
        f"{len(secret_uses(inputs.config))} secret(s) delivered to containers",
        f"{len(reachable)} of {len(status.hosts)} host(s) reachable",
        f"kamal-proxy version on {len(proxy_versions(status))} host(s)",
        f"{len(inputs.config.accessories)} accessory container(s) configured",
        "the deploy lock",
    ]


async def diagnose(fleet: Fleet, *, environ: Mapping[str, str] | None = None, tail: int = DEFAULT_TAIL,
                   now: datetime | None = None) -> api.DiagnosisReport:
    """Every read-only check, in one report."""
    inputs = await gather(fleet, dict(os.environ) if environ is None else environ, now)
    findings = offline_findings(inputs)
    checks = checks_of(inputs)
    found, postgres_checks = await postgres_findings(fleet, inputs, tail)
    findings += found
    checks += postgres_checks
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    findings.sort(key=lambda finding: order[finding.severity])
    return api.DiagnosisReport(taken_at=time.time(), findings=tuple(findings), checks=tuple(checks))


def diagnosis_event(finding: Finding) -> api.Diagnosis:
    """A finding as the run event faces already render."""
    fixes = tuple((repair.label, step.describe()) for repair in finding.repairs for step in repair.steps)
    return api.Diagnosis(code=finding.code, title=finding.title, host=finding.host, target=finding.target,
                         detail=f"{finding.what}\n{finding.why}\n{finding.fix}", fixes=fixes)
