"""`proxy boot_config set|get|reset`: the files under `.kamal/proxy` that say how kamal-proxy boots
when the config has no `proxy.run` (Kamal 2.0–2.9's way; Kamal 2.10+ deprecates it but still reads
them). The files are written exactly as Kamal writes them, so either tool boots the same proxy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from app import contract
from app.engine import proxy_ops
from app.engine.runner import Run
from app.errors import UsageError

DEPRECATION = "The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy/run instead"
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"
DEFAULT_REPOSITORY = "basecamp"
IMAGE_NAME = "kamal-proxy"
STEP = "proxy.boot_config"


@dataclass(frozen=True)
class BootConfig:
    """Kamal's `proxy boot_config set` options (their defaults are Kamal's)."""

    publish: bool = True
    publish_host_ips: tuple[str, ...] = ()
    http_port: int = DEFAULT_HTTP_PORT
    https_port: int = DEFAULT_HTTPS_PORT
    log_max_size: str | None = DEFAULT_LOG_MAX_SIZE
    registry: str | None = None
    repository: str | None = None
    image_version: str | None = None
    metrics_port: int | None = None
    debug: bool = False
    docker_options: tuple[str, ...] = field(default=())


def _bind_ip(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise UsageError(f"Invalid publish IP address: {ip}") from None
    return f"[{ip}]" if address.version == 6 else ip


def publish_args(http_port: int, https_port: int, bind_ips: tuple[str, ...]) -> str:
    groups = []
    for ip in bind_ips or (None,):
        prefix = f"{_bind_ip(ip)}:" if ip else ""
        groups.append(f"--publish {prefix}{http_port}:{DEFAULT_HTTP_PORT} "
                      f"--publish {prefix}{https_port}:{DEFAULT_HTTPS_PORT}")
    return " ".join(groups)


def boot_options(options: BootConfig) -> str:
    parts = []
    if options.publish:
        parts.append(publish_args(options.http_port, options.https_port, options.publish_host_ips))
    if options.log_max_size:
        parts += ["--log-opt", f"max-size={options.log_max_size}"]
    if options.metrics_port:
        parts.append(f"--expose={options.metrics_port}")
    parts += [f"--{option}" for option in options.docker_options]
    return " ".join(parts)


def default_boot_options() -> str:
    return boot_options(BootConfig())


def image(options: BootConfig) -> str:
    return "/".join(part for part in (options.registry or None, options.repository or DEFAULT_REPOSITORY,
                                      IMAGE_NAME) if part)


def run_command(options: BootConfig) -> str | None:
    flags: dict[str, object] = {}
    if options.debug:
        flags["debug"] = True
    if options.metrics_port:
        flags["metrics-port"] = options.metrics_port
    return f"kamal-proxy run {' '.join(contract.optionize(flags))}" if flags else None


def files(options: BootConfig) -> dict[str, str | None]:
    """What each file under `.kamal/proxy` holds after `set` (None: the file is removed, its default applies)."""
    chosen_options, chosen_image = boot_options(options), image(options)
    return {
        "options": chosen_options if chosen_options != default_boot_options() else None,
        "image": chosen_image if chosen_image != f"{DEFAULT_REPOSITORY}/{IMAGE_NAME}" else None,
        "image_version": options.image_version or None,
        "run_command": run_command(options),
    }


async def _remove(run: Run, host: str, name: str) -> None:
    await run.host(host).run(f"rm {contract.proxy_boot_file(name)}", check=False)  # Kamal ignores a failure


async def set_(run: Run, options: BootConfig) -> None:
    run.notice(DEPRECATION, level="warning")
    wanted = files(options)

    async def one(host: str) -> None:
        remote = run.host(host)
        async with run.step(STEP, f"mkdir -p {contract.proxy_dir()}", host=host):
            await remote.makedirs(contract.proxy_dir())
            for name, content in wanted.items():
                if content is None:
                    run.output(STEP, f"rm {contract.proxy_boot_file(name)}", host=host)
                    await _remove(run, host, name)
                else:
                    run.output(STEP, f"Uploading {contract.proxy_boot_file(name)}", host=host)
                    await remote.write_file(contract.proxy_boot_file(name), content.encode(), mode=0o644)

    await run.on_hosts(proxy_ops.proxy_hosts(run), one)


async def get(run: Run) -> None:
    run.notice(DEPRECATION, level="warning")
    hosts = proxy_ops.proxy_hosts(run)

    async def one(host: str) -> str:
        command = proxy_ops.boot_config_command()
        async with run.step(STEP, command, host=host):
            return (await run.host(host).run(command)).stdout.strip()

    found = await run.on_hosts(hosts, one)
    run.lines(STEP, "", [f"Host {host}: {found[host]}" for host in hosts])


async def reset(run: Run) -> None:
    run.notice(DEPRECATION, level="warning")

    async def one(host: str) -> None:
        async with run.step(STEP, "Removing the boot_config files", host=host):
            for name in proxy_ops.BOOT_FILES:
                await _remove(run, host, name)

    await run.on_hosts(proxy_ops.proxy_hosts(run), one)
