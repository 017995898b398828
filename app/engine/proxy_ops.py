"""`proxy boot|reboot|start|stop|restart|details|logs|remove`, as Kamal 2.11 does them.

Command strings are Kamal's (shown in events and confirmation requests); execution goes through
the Engine API where it is exact (network, inspect, start, stop, prunes, logs) and the `docker run`
of the proxy goes through the API when the translation is exact, else over SSH as the same string.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Iterable

from app import contract
from app.config.model import Config, Proxy, ProxyRun
from app.engine import app_commands, audit, local_registry, lock, registry_ops
from app.engine.confirm import ConfirmationRequest, Effect
from app.engine.hooks import run_hook
from app.engine.options import LogOptions
from app.engine.results import PS_COLUMNS, ps_rows
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote import app_docker, docker_cli, docker_ops

OCI_TITLE_FILTER = "label=org.opencontainers.image.title=kamal-proxy"
PROXY_VOLUME_ARG = f"{contract.PROXY_CONFIG_VOLUME}:/home/kamal-proxy/.config/kamal-proxy"
APPS_VOLUME_ARG = f"$PWD/{contract.proxy_apps_config_dir()}:{contract.PROXY_APPS_CONTAINER_DIR}"


class ProxyError(ShipdeckError):
    """A proxy step failed with Kamal's message."""


# -- command strings -------------------------------------------------------------------------------

def proxy_run_config(config: Config, host: str) -> ProxyRun | None:
    """`proxy.run` of the roles and accessories on `host` (validated identical), or None."""
    for owner in (*config.host_roles(host), *config.host_accessories(host)):
        if owner.proxy is not None and owner.proxy.run is not None:
            return owner.proxy.run
    return None


def _bind_ip(ip: str | None) -> str | None:
    if ip and ":" in ip and not (ip.startswith("[") and ip.endswith("]")):
        return f"[{ip}]"
    return ip


def publish_args(http_port: int, https_port: int, bind_ips: Iterable[str] | None) -> str:
    groups = []
    for ip in (bind_ips or [None]):
        ip = _bind_ip(ip)
        http = ":".join(str(part) for part in (ip, http_port, 80) if part is not None)
        https = ":".join(str(part) for part in (ip, https_port, 443) if part is not None)
        groups.append(f"--publish {http} --publish {https}")
    return " ".join(groups)


def run_docker_options(proxy_run: ProxyRun) -> list[str]:
    """Kamal::Configuration::Proxy::Run#docker_options_args."""
    options = ["--volume", APPS_VOLUME_ARG]
    if proxy_run.publish:
        options.append(publish_args(proxy_run.http_port, proxy_run.https_port, proxy_run.bind_ips))
    if proxy_run.log_max_size:
        options += ["--log-opt", f"max-size={proxy_run.log_max_size}"]
    if proxy_run.metrics_port:
        options.append(f"--expose={proxy_run.metrics_port}")
    if proxy_run.options:
        options += contract.optionize(dict(proxy_run.options))
    return options


def run_subcommand(proxy_run: ProxyRun) -> str:
    options: dict[str, object] = {}
    if proxy_run.debug:
        options["debug"] = True
    if proxy_run.metrics_port is not None:
        options["metrics-port"] = proxy_run.metrics_port
    return " ".join(["kamal-proxy", "run", *contract.optionize(options)])


def _docker_run_prefix() -> list[str]:
    return ["docker", "run", "--name", contract.PROXY_CONTAINER, "--network", contract.NETWORK, "--detach",
            "--restart", "unless-stopped", "--volume", PROXY_VOLUME_ARG]


def default_boot_options() -> str:
    return f"{publish_args(80, 443, None)} --log-opt max-size={contract.DEFAULT_LOG_MAX_SIZE}"


def boot_config_command() -> str:
    """The `echo $(cat ...)` part of the boot_config form (what the files say, or the defaults)."""
    def read(name: str, default: str) -> str:
        return f'$(cat {contract.proxy_boot_file(name)} 2> /dev/null || echo "{default}")'

    return " ".join(["echo", f"{read('options', default_boot_options())} {read('image', contract.PROXY_IMAGE)}:"
                     f"{read('image_version', contract.MINIMUM_PROXY_VERSION)} {read('run_command', '')}"])


def run_command(config: Config, host: str) -> str:
    """Kamal's exact `<run>` for `host`: the `proxy.run` form, or the boot_config-files form."""
    proxy_run = proxy_run_config(config, host)
    if proxy_run is not None:
        return " ".join([*_docker_run_prefix(), *run_docker_options(proxy_run), proxy_run.image,
                         run_subcommand(proxy_run)])
    return " ".join([boot_config_command(), "|", "xargs", *_docker_run_prefix(), "--volume", APPS_VOLUME_ARG])


BOOT_FILES = ("options", "image", "image_version", "run_command")


def default_run_without_boot_files() -> str:
    """What the boot_config pipeline runs when none of `.kamal/proxy/{options,image,...}` exists."""
    return " ".join([*_docker_run_prefix(), "--volume", APPS_VOLUME_ARG, default_boot_options(),
                     f"{contract.PROXY_IMAGE}:{contract.MINIMUM_PROXY_VERSION}"])


async def _boot_files_present(run: Run, host: str) -> bool:
    sftp = await run.host(host).sftp()
    for name in BOOT_FILES:
        if await sftp.exists(contract.proxy_boot_file(name)):
            return True
    return False


def start_command() -> str:
    return f"docker container start {contract.PROXY_CONTAINER}"


def stop_command() -> str:
    return f"docker container stop {contract.PROXY_CONTAINER}"


def remove_container_command() -> str:
    return f"docker container prune --force --filter {OCI_TITLE_FILTER}"


def deploy_options(config: Config, proxy: Proxy, role: str | None = None) -> dict[str, object]:
    """Kamal::Configuration::Proxy#deploy_options (nil values dropped)."""
    def tls_path(filename: str) -> str | None:
        if not proxy.custom_ssl_certificate:
            return None
        return contract.tls_path(config.service, config.destination, filename, role, container=True)

    error_pages = (contract.error_pages_dir(config.service, config.destination, config.version or "", container=True)
                   if config.error_pages_path else None)
    options: dict[str, object | None] = {
        "host": list(proxy.hosts),
        "tls": True if proxy.ssl else None,
        "tls-certificate-path": tls_path("cert.pem"),
        "tls-private-key-path": tls_path("key.pem"),
        "deploy-timeout": contract.seconds(config.deploy_timeout),
        "drain-timeout": contract.seconds(config.drain_timeout),
        "health-check-interval": contract.seconds(proxy.healthcheck_interval),
        "health-check-timeout": contract.seconds(proxy.healthcheck_timeout),
        "health-check-path": proxy.healthcheck_path,
        "target-timeout": contract.seconds(proxy.response_timeout),
        "buffer-requests": proxy.buffer_requests,
        "buffer-responses": proxy.buffer_responses,
        "buffer-memory": proxy.buffer_memory,
        "max-request-body": proxy.max_request_body,
        "max-response-body": proxy.max_response_body,
        "path-prefix": list(proxy.path_prefixes),
        "strip-path-prefix": proxy.strip_path_prefix,
        "forward-headers": proxy.forward_headers,
        "tls-redirect": proxy.ssl_redirect,
        "log-request-header": list(proxy.log_request_headers),
        "log-response-header": list(proxy.log_response_headers) if proxy.log_response_headers else None,
        "error-pages": error_pages,
    }
    return {key: value for key, value in options.items() if value is not None}


def deploy_args(config: Config, proxy: Proxy, target: str, role: str | None = None) -> list[str]:
    """`--target="<id>:<port>" --host="..." ...` (Kamal's optionize with `=`)."""
    return contract.optionize({"target": f"{target}:{proxy.app_port}", **deploy_options(config, proxy, role)},
                              with_="=")


# -- versions ------------------------------------------------------------------------------------

def _segments(version: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.findall(r"[0-9]+|[a-zA-Z]+", version)]


def older_version(version: str, minimum: str) -> bool:
    """Kamal::Utils.older_version? (Gem::Version comparison after dropping a leading `v`)."""
    left, right = _segments(version.removeprefix("v")), _segments(minimum.removeprefix("v"))
    length = max(len(left), len(right))
    for index in range(length):
        a = left[index] if index < len(left) else 0
        b = right[index] if index < len(right) else 0
        if a == b:
            continue
        if isinstance(a, str) and isinstance(b, int):
            return True  # a prerelease sorts before any release number
        if isinstance(a, int) and isinstance(b, str):
            return False
        return a < b  # type: ignore[operator]
    return False


def too_old_message(version: str) -> str:
    minimum = contract.MINIMUM_PROXY_VERSION
    return (f"kamal-proxy version {version} is too old, run `kamal proxy reboot` in order to update to at least "
            f"{minimum}")


async def running_version(run: Run, host: str) -> str | None:
    """The tag of the image the `kamal-proxy` container runs (Kamal's `awk -F: '{print $NF}'`)."""
    try:
        info = await app_docker.inspect_container(run.host(host), contract.PROXY_CONTAINER)
    except docker_ops.DockerCommandError as error:
        if error.status == 404:
            return None
        raise
    return docker_cli.image_version(info) or None


# -- host lists ----------------------------------------------------------------------------------

def proxy_hosts(run: Run) -> list[str]:
    return list(run.targets.proxy_hosts) if run.targets is not None else list(run.config.proxy_hosts)


async def ensure_network(run: Run, hosts: Iterable[str]) -> None:
    async def one(host: str) -> None:
        async with run.step("network.create", "docker network create kamal", host=host):
            await app_docker.create_network(run.host(host), contract.NETWORK)

    await run.on_hosts(hosts, one)


# -- boot ----------------------------------------------------------------------------------------

async def start_or_run(run: Run, host: str) -> str:
    """`docker container start kamal-proxy || <run>`: 'started' or 'ran'."""
    try:  # one request: the start itself tells whether the container exists
        await app_docker.start(run.host(host), contract.PROXY_CONTAINER)
        return "started"
    except docker_ops.DockerCommandError as error:
        if error.status != 404:
            raise
    await run_proxy(run, host)
    return "ran"


async def run_proxy(run: Run, host: str) -> None:
    """Kamal's `<run>`. Without `proxy.run` and without boot files on the host, the pipeline's result
    is known (the defaults), so that plain `docker run` goes through the Engine API; otherwise the
    pipeline runs over SSH exactly as Kamal's."""
    command = run_command(run.config, host)
    run.output("proxy.run", command, host=host)
    proxy_run = proxy_run_config(run.config, host)
    if proxy_run is None and not await _boot_files_present(run, host):
        command = default_run_without_boot_files()
    async with local_registry.for_image(run, host, proxy_run.image if proxy_run else None):
        await docker_ops.run_container(run.host(host), command, auth=registry_ops.registry_auth(run))


async def boot_host(run: Run, host: str) -> None:
    async with run.step("proxy.boot", "Booting kamal-proxy", host=host):
        await registry_ops.login_on_host(run, host)
        version = await running_version(run, host)
        if version and older_version(version, contract.MINIMUM_PROXY_VERSION):
            raise ProxyError(too_old_message(version))
        await run.host(host).makedirs(contract.proxy_apps_config_dir())
        outcome = await start_or_run(run, host)
        run.output("proxy.boot", f"{start_command()} || <run>: {outcome}", host=host)


async def boot(run: Run) -> None:
    """`proxy boot`: network on all hosts; on proxy hosts login, version check, start or run."""
    async with lock.held(run):
        await ensure_network(run, run.target_hosts())
        await run.on_hosts(proxy_hosts(run), lambda host: boot_host(run, host))


# -- reboot --------------------------------------------------------------------------------------

def reboot_commands(run: Run, host: str) -> list[str]:
    commands = ["audit: Rebooted proxy", registry_ops.kamal_login_command(run.config.registry),
                stop_command(), remove_container_command(),
                f"mkdir -p {contract.proxy_apps_config_dir()}", run_command(run.config, host)]
    if run.config.registry.local:
        commands.remove(registry_ops.kamal_login_command(run.config.registry))
    return commands


def reboot_request(run: Run, hosts: list[str], rolling: bool) -> ConfirmationRequest:
    effects = tuple(Effect(host, command) for host in hosts for command in reboot_commands(run, host))
    how = "one host at a time" if rolling else "all hosts at once"
    return ConfirmationRequest(
        action="proxy.reboot", title=f"Reboot kamal-proxy on {len(hosts)} host{'s' if len(hosts) != 1 else ''} "
                                     f"({how})",
        consequence="This will cause a brief outage on each host.", effects=effects,
        target=contract.PROXY_CONTAINER)


async def reboot_host(run: Run, host: str) -> None:
    remote = run.host(host)
    async with run.step("proxy.reboot", "Rebooting kamal-proxy", host=host):
        await audit.record(remote, run.config, "Rebooted proxy")
        await registry_ops.login_on_host(run, host)
        try:
            await app_docker.stop(remote, contract.PROXY_CONTAINER)
        except docker_ops.DockerCommandError as error:
            run.output("proxy.reboot", str(error), host=host, stream="stderr")
        await app_docker.prune_containers(remote, [OCI_TITLE_FILTER])
        await remote.makedirs(contract.proxy_apps_config_dir())
        await run_proxy(run, host)


async def reboot(run: Run, *, rolling: bool = False) -> bool:
    """`proxy reboot [--rolling]`: asks the confirmer first; False when nothing was done."""
    hosts = proxy_hosts(run)
    if not await run.confirmer.confirm(reboot_request(run, hosts, rolling)):
        run.notice("Aborted", level="error")
        return False
    async with lock.held(run):
        groups = [[host] for host in hosts] if rolling else [hosts]
        for group in groups:
            host_list = ",".join(group)
            await run_hook(run, "pre-proxy-reboot", hosts=host_list)
            await run.on_hosts(group, lambda host: reboot_host(run, host))
            if rolling:  # the next host goes down only once this one serves again
                await wait_serving(run, group[0])
            await run_hook(run, "post-proxy-reboot", hosts=host_list)
    return True


SERVING_TIMEOUT_S = 15.0


async def wait_serving(run: Run, host: str, timeout: float = SERVING_TIMEOUT_S) -> bool:
    """Until the new kamal-proxy answers HTTP on the host's published port (any status: it listens, its
    routes restored from its state volume). A proxy that publishes nothing is not waited for."""
    proxy_run = proxy_run_config(run.config, host)
    if proxy_run is not None and not proxy_run.publish:
        return False
    port = proxy_run.http_port if proxy_run is not None else 80
    address = (proxy_run.bind_ips[0] if proxy_run is not None and proxy_run.bind_ips else "127.0.0.1").strip("[]")
    remote = run.host(host)
    deadline = asyncio.get_running_loop().time() + timeout
    async with run.step("proxy.serving", f"Waiting for kamal-proxy to answer on port {port}", host=host):
        while await remote.http_status(address, port, "/", timeout=1.0) is None:
            if asyncio.get_running_loop().time() > deadline:
                run.notice(f"kamal-proxy on {host} did not answer on port {port} within {timeout:g}s; going on",
                           level="warning", host=host)
                return False
            await asyncio.sleep(0.1)
    return True


# -- start / stop / restart ----------------------------------------------------------------------

async def start(run: Run) -> None:
    async def one(host: str) -> None:
        async with run.step("proxy.start", start_command(), host=host):
            await audit.record(run.host(host), run.config, "Started proxy")
            await app_docker.start(run.host(host), contract.PROXY_CONTAINER)

    async with lock.held(run):
        await run.on_hosts(proxy_hosts(run), one)


async def stop(run: Run) -> None:
    async def one(host: str) -> None:
        async with run.step("proxy.stop", stop_command(), host=host):
            await audit.record(run.host(host), run.config, "Stopped proxy")
            try:
                await app_docker.stop(run.host(host), contract.PROXY_CONTAINER)
            except docker_ops.DockerCommandError as error:  # Kamal ignores a failing stop
                run.output("proxy.stop", str(error), host=host, stream="stderr")

    async with lock.held(run):
        await run.on_hosts(proxy_hosts(run), one)


async def restart(run: Run) -> None:
    async with lock.held(run):
        await stop(run)
        await start(run)


# -- details / logs ------------------------------------------------------------------------------

async def details(run: Run) -> None:
    """`docker ps --filter 'name=^kamal-proxy$'` per proxy host (`Rows`, title "Proxy")."""
    async def one(host: str) -> list:
        async with run.step("proxy.details", f"docker ps --filter 'name=^{contract.PROXY_CONTAINER}$'", host=host):
            return await app_docker.list_containers(run.host(host), [f"name=^{contract.PROXY_CONTAINER}$"])

    hosts = proxy_hosts(run)
    found = await run.on_hosts(hosts, one)
    for host in hosts:
        run.rows("proxy.containers", "Proxy", PS_COLUMNS, ps_rows(found[host]), host=host)


async def logs(run: Run, options: LogOptions) -> None:
    """Log lines per proxy host (`Rows` of kind "proxy.logs", title "Proxy"); with `follow`, the primary
    host's lines as they come."""
    if options.follow:
        host = run.targets.primary_host if run.targets is not None else run.config.primary_host
        run.notice(f"Following logs on {host}...")
        await follow_logs(run, host, contract.PROXY_CONTAINER, step="proxy.logs", timestamps=options.timestamps,
                          grep=options.grep)
        return
    lines = options.lines
    if lines is None and not (options.since or options.grep):
        lines = 100
    hosts = proxy_hosts(run)
    found = await container_logs(run, hosts, contract.PROXY_CONTAINER, step="proxy.logs",
                                 command=app_commands.docker_logs_command(
                                     contract.PROXY_CONTAINER, since=options.since, lines=lines,
                                     timestamps=options.timestamps, grep=options.grep,
                                     grep_options=options.grep_options),
                                 since=options.since, lines=lines, timestamps=options.timestamps, grep=options.grep)
    for host in hosts:
        run.lines("proxy.logs", "Proxy", found[host], host=host)


async def follow_logs(run: Run, host: str, container: str, *, step: str, timestamps: bool,
                      grep: str | None) -> None:
    """`docker logs --tail 10 --follow` until cancelled; each line an untitled one-line `Rows`."""
    async with run.step(step, f"docker logs {container} --tail 10 --follow", host=host):
        async for line in app_docker.follow_logs(run.host(host), container, tail=10, timestamps=timestamps):
            if grep is None or re.search(grep, line):
                run.lines(step, "", [line], host=host)


async def container_logs(run: Run, hosts: list[str], container: str, *, step: str, command: str,
                         since: str | None, lines: int | None, timestamps: bool,
                         grep: str | None) -> dict[str, list[str]]:
    """Log lines per host: through the API, or Kamal's exact pipeline over SSH when grep is asked for."""
    async def one(host: str) -> list[str]:
        collected: list[str] = []
        async with run.step(step, command, host=host):
            if grep:
                result = await run.host(host).run(command, check=False)
                collected = result.stdout.splitlines()
            else:
                collected = await app_docker.logs(run.host(host), container, since=since, tail=lines,
                                                  timestamps=timestamps)
            for line in collected:
                run.output(step, line, host=host)
        return collected

    return await run.on_hosts(hosts, one)


# -- remove --------------------------------------------------------------------------------------

async def _app_count(run: Run, host: str) -> int:
    sftp = await run.host(host).sftp()
    directory = f"{contract.RUN_DIRECTORY}/apps"
    if not await sftp.isdir(directory):
        return 0
    return len([name for name in await sftp.listdir(directory) if name not in (".", "..")])


async def remove(run: Run, *, force: bool = False) -> bool:
    """`proxy remove [--force]`: refuses while other apps are installed on a host, unless forced."""
    hosts = proxy_hosts(run)
    async with lock.held(run):
        counts = await run.on_hosts(hosts, lambda host: _app_count(run, host))
        busy = [host for host, count in counts.items() if count > 0]
        if busy:
            if not force:
                run.notice("Not removing the proxy, as other apps are installed, ignore this check with "
                           "kamal proxy remove --force")
                return False
            run.notice("Forcing, so removing the proxy, even though other apps are installed")
        await stop(run)

        async def remove_on(host: str) -> None:
            remote = run.host(host)
            async with run.step("proxy.remove", "Removing kamal-proxy's container, image and directory", host=host):
                await audit.record(remote, run.config, "Removed proxy container")
                await app_docker.prune_containers(remote, [OCI_TITLE_FILTER])
                await audit.record(remote, run.config, "Removed proxy image")
                await app_docker.prune_images(remote, [OCI_TITLE_FILTER], all_images=True)
                await remove_tree(run, host, contract.proxy_dir())

        await run.on_hosts(hosts, remove_on)
    return True


async def remove_tree(run: Run, host: str, path: str, *, force: bool = False) -> bool:
    """`rm -r PATH` (proxy) or `rm -rf PATH` (accessory data); failures are reported, not raised."""
    remote = run.host(host)
    result = await remote.run(f"rm {'-rf' if force else '-r'} {shlex.quote(path)}", check=False)
    remote.forget_directory(path)
    return result.ok
