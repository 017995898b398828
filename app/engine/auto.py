"""`--auto deploy`: the whole CI deploy as one reconcile, in order, that never asks anybody anything.

preflight (secrets, registry, hosts, lock, proxy version) → build and push → pull on hosts → accessories
(boot the missing ones, report drift in running ones) → kamal-proxy (boot; reboot an old one only when
allowed) → the app with zero downtime → accessories running the app's own image onto the new version →
prune → summary.

Everything that needs a decision is known after the preflight, so a run that lacks a flag stops before it
changes anything (`FlagNeeded`). The steps reuse the engine's own operations (build, accessories,
proxy_ops, deploy, prune).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import contract
from app.config.model import Accessory, Config
from app.engine import accessories, build, lock, proxy_ops
from app.engine.confirm import ConfirmationRequest, Confirmer
from app.engine.deploy import boot_app, stale_containers
from app.engine.hooks import run_hook
from app.engine.prune import prune_all
from app.engine.registry_ops import RegistryError
from app.engine.runner import Run
from app.errors import UsageError
from app.remote import app_docker

ALLOW_PROXY_REBOOT = "--allow-proxy-reboot"
_EXPANDABLE = re.compile(r"\$[A-Za-z_{]")


class FlagNeeded(UsageError):
    """The run needs a decision its flags do not give; nothing was changed."""

    def __init__(self, flag: str, message: str) -> None:
        self.flag = flag
        super().__init__(message)


class RegistryUntrusted(UsageError):
    """An engine would refuse the registry's transport (plain HTTP that the engine does not trust)."""


@dataclass(frozen=True)
class AutoOptions:
    allow_proxy_reboot: str | None = None  # None, "all" (all hosts at once) or "rolling" (host by host)
    environ: Mapping[str, str] = field(default_factory=dict)  # the CI environment (for the mangling check)


@dataclass
class AutoSummary:
    version: str
    hosts: tuple[str, ...]
    url: str | None
    durations: dict[str, float] = field(default_factory=dict)


# -- what the run needs ------------------------------------------------------------------------------

def secret_references(config: Config, *, accessories: bool = True, build: bool = True) -> list[str]:
    """Every secret the deploy resolves: env secrets of roles and accessories, registry credentials,
    build secrets, custom certificates (without the accessories' or the build's when those are not part
    of the run)."""
    names: list[str] = []
    for role in config.roles:
        for host in role.hosts:
            names += [key for _, key in role.env(host).secrets]
        if role.proxy is not None:
            names += [name for name in (role.proxy.certificate_pem, role.proxy.private_key_pem) if name]
    for accessory in config.accessories if accessories else ():
        names += [key for _, key in accessory.env.secrets]
        registry = accessory.registry
        if registry is not None:
            names += [value for value, secret in ((registry.username, registry.username_is_secret),
                                                  (registry.password, registry.password_is_secret)) if secret and value]
    registry = config.registry
    names += [value for value, secret in ((registry.username, registry.username_is_secret),
                                          (registry.password, registry.password_is_secret)) if secret and value]
    if build:
        names += list(config.builder.secrets)
    return list(dict.fromkeys(names))


def app_url(config: Config) -> str | None:
    """The URL the app answers on (its proxy host), when it has one."""
    proxy = config.proxy
    hosts = proxy.hosts if proxy is not None else ()
    if not hosts:
        return None
    return f"{'https' if proxy.ssl else 'http'}://{hosts[0]}"


def runs_app_image(config: Config, accessory: Accessory) -> bool:
    """A sidekiq-style accessory: it runs the app's own image."""
    return _repository(accessory.image) in (config.repository, config.image)


def _repository(image: str) -> str:
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


def looks_mangled(value: str) -> bool:
    """A `$NAME` survived into a value under CI: GitLab expands such references in variables that are not
    marked raw, so the value may not be what was typed (a `$$` escape arrives as `$`, a lone `$` vanishes)."""
    return "$" in value


# -- preflight ---------------------------------------------------------------------------------------

async def preflight(run: Run, options: AutoOptions) -> list[str]:
    """Everything that can stop the run, checked before anything changes. Returns the proxy hosts whose
    kamal-proxy must be rebooted (allowed by the options)."""
    config = run.config
    config.require_version()
    async with run.step("preflight.secrets", "Every secret the deploy needs is present"):
        references = secret_references(config)
        run.secrets.check(references)
        if any(name.startswith("CI_") for name in options.environ):
            for name in references:
                found = run.secrets.lookup(name)
                if found is not None and looks_mangled(found[0]):
                    run.notice(f"Secret {name} holds a `$`: if its CI variable is expanded (GitLab: not marked "
                               "raw), `$NAME` inside it was replaced; write `$$` for a literal `$` or mark the "
                               "variable raw", level="warning")
    hosts = run.target_hosts()

    async def connect(host: str) -> None:
        async with run.step("preflight.connect", "SSH connection and host key", host=host):
            await run.host(host).connection()

    await run.on_hosts(hosts, connect)
    await _check_registry(run, hosts)
    async with run.step("preflight.lock", "The deploy lock is free"):
        if not run.holding_lock and not run.options.lock_wait:  # with --lock-wait the deploy waits for it
            holder = await lock.status(run)
            if holder is not None:
                raise lock.LockError("Deploy lock found. Run 'kamal lock help' for more information\n" + holder)
    await report_drift(run)
    return await _check_proxies(run, options)


async def _check_proxies(run: Run, options: AutoOptions) -> list[str]:
    old: dict[str, str] = {}

    async def check(host: str) -> None:
        async with run.step("preflight.proxy", "kamal-proxy version", host=host):
            version = await proxy_ops.running_version(run, host)
            if version and proxy_ops.older_version(version, contract.MINIMUM_PROXY_VERSION):
                old[host] = version

    await run.on_hosts(proxy_ops.proxy_hosts(run), check)
    if old and options.allow_proxy_reboot is None:
        found = ", ".join(f"{host} runs {version}" for host, version in sorted(old.items()))
        raise FlagNeeded(ALLOW_PROXY_REBOOT, (
            f"kamal-proxy is older than {contract.MINIMUM_PROXY_VERSION} ({found}); rebooting it interrupts "
            f"traffic. Nothing was changed. Re-run with {ALLOW_PROXY_REBOOT}=rolling (host by host) or "
            f"{ALLOW_PROXY_REBOOT} (all at once)."))
    return sorted(old)


def _tls_context(server: str) -> ssl.SSLContext:
    """The system's CAs plus the one this machine's Docker trusts for `server` (`/etc/docker/certs.d`)."""
    context = ssl.create_default_context()
    ca = Path("/etc/docker/certs.d") / server / "ca.crt"
    if ca.is_file():
        context.load_verify_locations(str(ca))
    return context


def _registry_scheme(server: str, username: str | None, password: str | None) -> tuple[str, str]:
    """(scheme the registry answers on, what was learned); RegistryError when it refuses the login or
    cannot be reached. A registry whose certificate this machine cannot verify still speaks TLS (the
    engines verify it with their own CAs), so its credentials are left to the login on each host; so are
    those of a registry that wants a token (`Bearer`) rather than basic authentication."""
    failures = []
    for scheme in ("https", "http"):
        request = urllib.request.Request(f"{scheme}://{server}/v2/")
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            context = _tls_context(server) if scheme == "https" else None
            with urllib.request.urlopen(request, timeout=10, context=context):
                return scheme, "credentials accepted" if username else "answers"
        except urllib.error.HTTPError as error:
            challenge = error.headers.get("Www-Authenticate", "") if error.headers else ""
            if error.code == 401 and not challenge.lower().startswith("bearer"):
                raise RegistryError(f"registry {server} refused the login for {username or 'anonymous'} "
                                    f"(HTTP 401 on {scheme}://{server}/v2/)") from None
            return scheme, f"answers (HTTP {error.code})"
        except urllib.error.URLError as error:
            if isinstance(error.reason, ssl.SSLCertVerificationError):
                return scheme, "speaks TLS with a certificate this machine does not verify"
            failures.append(f"{scheme}: {error.reason}")
        except OSError as error:
            failures.append(f"{scheme}: {error}")
    raise RegistryError(f"registry {server} is not reachable ({'; '.join(failures)})")


def engine_trusts_plain_http(info: Mapping[str, Any], server: str) -> bool:
    """Whether an engine (its /info RegistryConfig) pulls from `server` over plain HTTP."""
    registry_config = info.get("RegistryConfig") or {}
    index = (registry_config.get("IndexConfigs") or {}).get(server)
    if index is not None and index.get("Secure") is False:
        return True
    host = server.rsplit(":", 1)[0]
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for cidr in registry_config.get("InsecureRegistryCIDRs") or []:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


async def _check_registry(run: Run, hosts: list[str]) -> None:
    registry = run.config.registry
    if registry.local or not registry.server:
        return
    async with run.step("preflight.registry", f"Registry {registry.server} reachable, credentials accepted"):
        from app.engine.registry_ops import registry_auth

        auth = registry_auth(run)
        scheme, learned = await asyncio.to_thread(_registry_scheme, registry.server, auth.username if auth else None,
                                                  auth.password if auth else None)
        run.output("preflight.registry", f"{registry.server} over {scheme.upper()}: {learned}")
    if scheme == "https":
        return

    async def trusted(host: str) -> None:
        async with run.step("preflight.registry_trust", f"Engine trusts plain-HTTP {registry.server}", host=host):
            docker = await run.host(host).docker()
            info = await docker.system.info()
            if not engine_trusts_plain_http(info, registry.server):
                raise RegistryUntrusted(
                    f"{host}: the registry {registry.server} speaks plain HTTP and this host's Docker engine does "
                    f"not trust it: add \"{registry.server}\" to \"insecure-registries\" in /etc/docker/daemon.json "
                    "there (or serve the registry over TLS)")

    await run.on_hosts(app_docker_hosts(run, hosts), trusted)


def app_docker_hosts(run: Run, hosts: list[str]) -> list[str]:
    """The hosts that pull the app's image."""
    return [host for host in build.app_hosts(run) if host in hosts]


# -- accessories -------------------------------------------------------------------------------------

def _env_lines(text: str) -> dict[str, str]:
    return {line.partition("=")[0]: line for line in text.splitlines() if "=" in line}


async def _drift(run: Run, accessory: Accessory, host: str) -> None:
    """A warning for each way a running accessory differs from the config (its image, each secret in its env
    file, named without the value); nothing is rebooted."""
    remote = run.host(host)
    running = await app_docker.list_containers(remote, [f"name=^{accessory.service_name}$"])
    if not running:
        return
    info = await app_docker.inspect_container(remote, accessory.service_name)
    image = (info.get("Config") or {}).get("Image")
    advice = f"not rebooted: `accessory reboot {accessory.name}` applies it"
    if image and image != accessory.image:
        run.notice(f"accessory {accessory.name} runs {image}, the config says {accessory.image} ({advice})",
                   level="warning", host=host)
    booted = await remote.read_file(accessories.env_path(run.config, accessory))
    if booted is None:
        return
    then, now = _env_lines(booted.decode(errors="replace")), _env_lines(accessories.env_file_content(run, accessory))
    for name in sorted(set(then) | set(now)):
        if then.get(name) != now.get(name):
            run.notice(f"accessory {accessory.name}: {name} differs from the value it was booted with (a changed "
                       f"or mangled secret? {advice})", level="warning", host=host)


async def report_drift(run: Run) -> None:
    for accessory in run.config.accessories:
        if runs_app_image(run.config, accessory):
            continue

        async def check(host: str, a: Accessory = accessory) -> None:
            async with run.step("preflight.accessory", f"Running {a.name} matches the config", host=host):
                await _drift(run, a, host)

        await run.on_hosts(accessories.hosts_for(run, accessory), check)


async def boot_accessories(run: Run) -> None:
    """Boot the missing accessories (not the app-image ones, which follow the app)."""
    for accessory in run.config.accessories:
        if runs_app_image(run.config, accessory):
            continue
        await accessories.boot_one(run, accessory)


async def follow_app_image(run: Run) -> None:
    """Accessories that run the app's image: booted, or rebooted onto the version just deployed."""
    config = run.config
    for accessory in config.accessories:
        if not runs_app_image(config, accessory):
            continue
        pinned = dataclasses.replace(accessory, image=config.absolute_image)
        previous = run.config
        run.config = dataclasses.replace(config, accessories=tuple(
            pinned if item.name == accessory.name else item for item in config.accessories))
        try:
            await accessories.reboot(run, accessory.name)
        finally:
            run.config = previous


# -- proxy -------------------------------------------------------------------------------------------

class _Allowed:
    """Approves exactly one request action (the flag given for it); every other goes to `inner`."""

    def __init__(self, action: str, inner: Confirmer) -> None:
        self.action, self.inner = action, inner

    async def confirm(self, request: ConfirmationRequest) -> bool:
        return request.action == self.action or await self.inner.confirm(request)


async def upgrade_proxies(run: Run, old_hosts: list[str], rolling: bool, version: str) -> None:
    """Reboot the old proxies (all at once, or host by host re-deploying each host's app before the next)."""
    confirmer, targets = run.confirmer, run.targets
    run.confirmer = _Allowed("proxy.reboot", confirmer)
    try:
        groups = [[host] for host in old_hosts] if rolling else [old_hosts]
        for group in groups:
            run.targets = _narrow(targets, group)
            await proxy_ops.reboot(run, rolling=False)
            if rolling and any(host in targets.app_hosts for host in group):
                await boot_app(run, version)
    finally:
        run.confirmer, run.targets = confirmer, targets


def _narrow(targets: Any, hosts: list[str]) -> Any:
    from app.engine.targets import Targets

    return Targets(targets.config, hosts=tuple(hosts), roles=(), primary=False)


# -- the whole run -----------------------------------------------------------------------------------

async def _timed(summary: AutoSummary, name: str, work: Awaitable[Any]) -> Any:
    began = time.monotonic()
    try:
        return await work
    finally:
        summary.durations[name] = summary.durations.get(name, 0.0) + time.monotonic() - began


async def deploy(run: Run, options: AutoOptions = AutoOptions()) -> AutoSummary:
    """The reconcile described in the module docstring."""
    config = run.config
    version = config.require_version()
    summary = AutoSummary(version=version, hosts=tuple(run.target_hosts()), url=app_url(config))

    def step(name: str, work: Awaitable[Any]) -> Awaitable[Any]:
        return _timed(summary, name, work)

    old_proxies = await step("preflight", preflight(run, options))
    if run.options.skip_push:
        await step("pull", build.pull(run))
    else:
        await step("build", build.push(run))
        await step("pull", build.pull(run))
    async with lock.held(run):
        await step("accessories", boot_accessories(run))
        if old_proxies:
            await step("proxy", upgrade_proxies(run, old_proxies, options.allow_proxy_reboot == "rolling", version))
        await run_hook(run, "pre-deploy", secrets=True)
        await step("proxy", proxy_ops.boot(run))
        await step("app", _app(run, version))
        await step("app-image accessories", follow_app_image(run))
        await step("prune", prune_all(run))
    await run_hook(run, "post-deploy", secrets=True, runtime=str(round(run.runtime)))
    _summarise(run, summary)
    return summary


async def _app(run: Run, version: str) -> None:
    await stale_containers(run, stop=True)
    await boot_app(run, version)


def _summarise(run: Run, summary: AutoSummary) -> None:
    durations = [(name, f"{seconds:.1f}s") for name, seconds in summary.durations.items()]
    rows = [("version", summary.version), ("hosts", ", ".join(summary.hosts)),
            ("url", summary.url or "-"), *durations]
    run.rows("auto.summary", "Deployed", ("what", "value"), rows)
