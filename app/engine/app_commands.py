"""Kamal's app command strings (Kamal::Commands::App and friends), built from the typed config.

These are what the operator sees in plans and `-v` output — byte for byte what Kamal 2.11 would run.
Execution mostly goes through the Docker API (see `app.engine.app_host`), and falls back to running
exactly these strings over SSH where the API path cannot express a command. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from app import contract
from app.config.model import Config, Proxy, Role

HEALTH_STATUS_FORMAT = "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"
HEALTH_LOG_FORMAT = "'{{json .State.Health}}'"
ACTIVE_STATUSES = ("running", "restarting")
NAMES_FORMAT = "--format '{{.Names}}'"


def join(words: Sequence[object]) -> str:
    return " ".join(str(word) for word in words if word is not None)


def shell_quote_single(command: str) -> str:
    """`sh -c '<command>'` quoting as Kamal's `shell` helper does it (`'` becomes `'\\''`)."""
    return "'" + command.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- filters and ids

def filter_args(config: Config, role: Role | None, statuses: Sequence[str] = ()) -> list[str]:
    return contract.app_container_filter_args(config.service, config.destination, role.name if role else None,
                                              statuses)


def container_id_for(container_name: str, only_running: bool = False) -> str:
    return join(["docker container ls", None if only_running else "--all",
                 f"--filter 'name=^{container_name}$'", "--quiet"])


def extract_version(role: Role) -> str:
    return f"while read line; do echo ${{line#{role.container_prefix}-}}; done"


def _latest_container(config: Config, role: Role, fmt: str, extra_filters: Sequence[str] = ()) -> str:
    return join(["docker ps --latest", fmt, *filter_args(config, role, ACTIVE_STATUSES),
                 *contract.argumentize("--filter", list(extra_filters))])


def _current_running_container(config: Config, role: Role, fmt: str) -> str:
    latest_image_id = join(["docker image ls", *contract.argumentize("--filter", [f"reference={config.latest_image}"]),
                            "--format", "'{{.ID}}'"])
    first = _latest_container(config, role, fmt, [f"ancestor=$({latest_image_id})"])
    second = _latest_container(config, role, fmt)
    return f"sh -c {shell_quote_single(f'{first} ; {second}')} | head -1"


def current_running_container_id(config: Config, role: Role) -> str:
    return _current_running_container(config, role, "--quiet")


def current_running_version(config: Config, role: Role) -> str:
    return f"{_current_running_container(config, role, NAMES_FORMAT)} | {extract_version(role)}"


def list_versions(config: Config, role: Role, statuses: Sequence[str] = ()) -> str:
    return join(["docker ps", *filter_args(config, role, statuses), "--format", '"{{.Names}}"']) + \
        f" | {extract_version(role)}"


# ---------------------------------------------------------------- the container

def stop_args(config: Config, role: Role) -> list[str]:
    """Proxy roles: no `-t` (kamal-proxy already drained them); others `-t <drain_timeout>`.

    Kamal 2.11 ignores `stop_timeout` here (2.12 honours it); 2.11 is the behaviour we match.
    """
    timeout = None if role.running_proxy else config.drain_timeout
    return ["-t", str(timeout)] if timeout is not None else []


def stop_timeout(config: Config, role: Role) -> int | None:
    args = stop_args(config, role)
    return int(args[1]) if args else None


def stop(config: Config, role: Role, version: str | None = None) -> str:
    source = container_id_for(role.container_name(version)) if version else current_running_container_id(config, role)
    return f"{source} | xargs {join(['docker stop', *stop_args(config, role)])}"


def start(role: Role, version: str) -> str:
    return f"docker start {role.container_name(version)}"


def status(role: Role, version: str) -> str:
    return f"{container_id_for(role.container_name(version))} | xargs docker inspect --format {HEALTH_STATUS_FORMAT}"


def health_log(role: Role, version: str) -> str:
    return f"{container_id_for(role.container_name(version))} | xargs docker inspect --format {HEALTH_LOG_FORMAT}"


def rename(role: Role, version: str, new_version: str) -> str:
    return f"docker rename {role.container_name(version)} {role.container_name(new_version)}"


def info(config: Config, role: Role) -> str:
    return join(["docker ps", *filter_args(config, role)])


def list_containers(config: Config) -> str:
    return join(["docker container ls --all", *filter_args(config, None)])


def list_images(config: Config) -> str:
    return f"docker image ls {config.repository}"


def remove_containers(config: Config, role: Role) -> str:
    return join(["docker container prune --force", *filter_args(config, role)])


def remove_images(config: Config) -> str:
    return join(["docker image prune --all --force", *contract.image_filter_args(config.service)])


def tag_latest(config: Config, version: str) -> str:
    return f"docker tag {config.repository}:{version} {config.latest_image}"


def env_args(config: Config, role: Role, host: str) -> list[str]:
    return [*contract.argumentize("--env", dict(role.env(host).clear)),
            "--env-file", contract.role_env_path(config.service, config.destination, role.name)]


def asset_volume_args(config: Config, role: Role, version: str) -> list[str]:
    if not role.assets:
        return []
    host_path = contract.assets_volume_dir(config.service, config.destination, role.name, version)
    volume = f"$PWD/{host_path}:{role.asset_path}"
    if role.asset_path_options:
        volume += f":{role.asset_path_options}"
    return ["--volume", volume]


def run_args(config: Config, role: Role, host: str, version: str, hostname: str | None) -> list[str]:
    """The words of Kamal's `docker run` for an app container (before shell splitting)."""
    name = role.container_name(version)
    words = ["docker", "run", "--detach", "--restart unless-stopped", "--name", name, "--network", contract.NETWORK]
    if hostname:
        words += ["--hostname", hostname]
    words += ["--env", f'KAMAL_CONTAINER_NAME="{name}"', "--env", f'KAMAL_VERSION="{version}"',
              "--env", f'KAMAL_HOST="{host}"']
    if config.destination:
        words += ["--env", f'KAMAL_DESTINATION="{config.destination}"']
    words += env_args(config, role, host)
    words += role.logging.args()
    words += contract.argumentize("--volume", list(config.volumes))
    words += asset_volume_args(config, role, version)
    words += contract.argumentize("--label", role.labels)
    words += contract.optionize(dict(role.options))
    words.append(f"{config.repository}:{version}")
    if role.cmd:
        words.append(str(role.cmd))
    return words


def run(config: Config, role: Role, host: str, version: str, hostname: str | None = None) -> str:
    return join(run_args(config, role, host, version, hostname))


def execute_in_new_container(config: Config, role: Role, host: str, version: str, command: str, *,
                             env: Mapping[str, str] | None = None, detach: bool = False,
                             interactive: str | None = None, name: str | None = None) -> str:
    name = name or contract.exec_container_name(config.service, role.name, config.destination, version)
    words = ["docker", "run", interactive, "--detach" if detach else None, None if detach else "--rm",
             "--name", name, "--network", contract.NETWORK, *env_args(config, role, host),
             *contract.argumentize("--env", dict(env or {})), *role.logging.args(),
             *contract.argumentize("--volume", list(config.volumes)), *contract.optionize(dict(role.options)),
             f"{config.repository}:{version}", command]
    return join(words)


def execute_in_existing_container(role: Role, version: str, command: str, *, env: Mapping[str, str] | None = None,
                                  interactive: str | None = None) -> str:
    return join(["docker", "exec", interactive, *contract.argumentize("--env", dict(env or {})),
                 role.container_name(version), command])


def logs(source: str, *, timestamps: bool = True, since: str | None = None, lines: int | None = None,
         grep: str | None = None, grep_options: str | None = None, follow: bool = False) -> str:
    flags = (" --timestamps" if timestamps else "") + (f" --since {since}" if since and not follow else "") + \
        (f" --tail {lines}" if lines else "") + (" --follow" if follow else "")
    command = f"{source} | xargs docker logs{flags} 2>&1"
    if grep:
        if follow:
            command += f' | grep "{grep}"' + (f" {grep_options}" if grep_options else "")
        else:
            command += f" | grep '{grep}'" + (f" {grep_options}" if grep_options else "")
    return command


def docker_logs_command(container: str, *, since: str | None, lines: int | None, timestamps: bool,
                        grep: str | None, grep_options: str | None = None, padded: bool = False) -> str:
    """Kamal's accessory and proxy `logs`: `docker logs NAME [--since S] [--tail N] [--timestamps] 2>&1 [| grep]`.

    Kamal::Commands::Accessory#logs writes `" --since #{since}"` and `" --tail #{lines}"` with a
    leading space (so two spaces before each in its command); `padded=True` keeps that byte for byte.
    """
    pad = " " if padded else ""
    command = join(["docker", "logs", container, f"{pad}--since {since}" if since else None,
                    f"{pad}--tail {lines}" if lines else None, "--timestamps" if timestamps else None, "2>&1"])
    if grep:
        command += f" | grep '{grep}'" + (f" {grep_options}" if grep_options else "")
    return command


# ---------------------------------------------------------------- kamal-proxy

def proxy_deploy_options(config: Config, proxy: Proxy, role: Role | None, version: str) -> list[tuple[str, object]]:
    """Kamal::Configuration::Proxy#deploy_options, in Kamal's order, nil values dropped."""
    def seconds(value: object) -> str | None:
        return f"{value}s" if value else None

    role_name = role.name if role else None
    custom = proxy.custom_ssl_certificate
    error_pages = (contract.error_pages_dir(config.service, config.destination, version, container=True)
                   if config.error_pages_path else None)
    options: list[tuple[str, object]] = [
        ("host", list(proxy.hosts)),
        ("tls", True if proxy.ssl else None),
        ("tls-certificate-path", contract.tls_path(config.service, config.destination, "cert.pem", role_name,
                                                   container=True) if custom else None),
        ("tls-private-key-path", contract.tls_path(config.service, config.destination, "key.pem", role_name,
                                                   container=True) if custom else None),
        ("deploy-timeout", seconds(config.deploy_timeout)),
        ("drain-timeout", seconds(config.drain_timeout)),
        ("health-check-interval", seconds(proxy.healthcheck_interval)),
        ("health-check-timeout", seconds(proxy.healthcheck_timeout)),
        ("health-check-path", proxy.healthcheck_path),
        ("target-timeout", seconds(proxy.response_timeout)),
        ("buffer-requests", proxy.buffer_requests),
        ("buffer-responses", proxy.buffer_responses),
        ("buffer-memory", proxy.buffer_memory),
        ("max-request-body", proxy.max_request_body),
        ("max-response-body", proxy.max_response_body),
        ("path-prefix", list(proxy.path_prefixes)),
        ("strip-path-prefix", proxy.strip_path_prefix),
        ("forward-headers", proxy.forward_headers),
        ("tls-redirect", proxy.ssl_redirect),
        ("log-request-header", list(proxy.log_request_headers)),
        ("log-response-header", list(proxy.log_response_headers) if proxy.log_response_headers else None),
        ("error-pages", error_pages),
    ]
    return [(key, value) for key, value in options if value is not None]


def proxy_deploy_args(config: Config, role: Role, target: str, version: str) -> list[str]:
    assert role.proxy is not None
    options: dict[str, object] = {"target": f"{target}:{role.proxy.app_port}"}
    options.update(proxy_deploy_options(config, role.proxy, role, version))
    return contract.optionize(options, with_="=")


def proxy_exec(*words: str) -> str:
    return join(["docker exec", contract.PROXY_CONTAINER, "kamal-proxy", *words])


def proxy_deploy(config: Config, role: Role, target: str, version: str) -> str:
    return proxy_exec("deploy", role.container_prefix, *proxy_deploy_args(config, role, target, version))


def proxy_remove(role: Role) -> str:
    return proxy_exec("remove", role.container_prefix)


def proxy_live(role: Role) -> str:
    return proxy_exec("resume", role.container_prefix)


def proxy_stop_args(drain_timeout: int | None, message: str | None) -> list[str]:
    options: dict[str, object] = {}
    if drain_timeout:
        options["drain-timeout"] = f"{drain_timeout}s"
    if message is not None:
        options["message"] = message
    return contract.optionize(options, with_="=")


def proxy_maintenance(role: Role, drain_timeout: int | None, message: str | None) -> str:
    return proxy_exec("stop", role.container_prefix, *proxy_stop_args(drain_timeout, message))


# ---------------------------------------------------------------- assets and error pages

def extract_assets(config: Config, role: Role, version: str) -> str:
    assets = contract.assets_container_name(config.service, role.name, config.destination)
    extracted = contract.assets_extracted_dir(config.service, config.destination, role.name, version)
    image = f"{config.repository}:{version}"
    return " && ".join([
        f"mkdir -p {extracted}",
        f"docker container rm {assets} 2> /dev/null || true",
        f"docker container create --name {assets} {image}",
        f"docker container cp -L {assets}:{role.asset_path}/. {extracted}",
        f"docker container rm {assets}",
    ])


def sync_asset_volumes(config: Config, role: Role, version: str, old_version: str | None) -> str:
    def extracted(ver: str) -> str:
        return contract.assets_extracted_dir(config.service, config.destination, role.name, ver)

    def volume(ver: str) -> str:
        return contract.assets_volume_dir(config.service, config.destination, role.name, ver)

    commands = [f"mkdir -p {volume(version)}", f"cp -rnT {extracted(version)} {volume(version)}"]
    if old_version:
        commands += [f"cp -rnT {extracted(version)} {volume(old_version)} || true",
                     f"cp -rnT {extracted(old_version)} {volume(version)} || true"]
    return " ; ".join(commands)


def clean_up_assets(config: Config, role: Role, version: str) -> str:
    def older_siblings(path: str) -> str:
        pure = PurePosixPath(path)
        return f"find {pure.parent} -maxdepth 1 -name '{role.name}-*' ! -name {pure.name} -exec rm -rf \"{{}}\" +"

    return " ; ".join([
        older_siblings(contract.assets_extracted_dir(config.service, config.destination, role.name, version)),
        older_siblings(contract.assets_volume_dir(config.service, config.destination, role.name, version)),
    ])


def error_pages_root(config: Config) -> str:
    return f"{contract.proxy_app_config_dir(config.service, config.destination)}/error_pages"


def clean_up_error_pages(config: Config, version: str) -> str:
    return f"find {error_pages_root(config)} -mindepth 1 -maxdepth 1 ! -name {version} -exec rm -rf {{}} +"


# ---------------------------------------------------------------- prune (Kamal::Commands::Prune)

def prune_dangling_images(config: Config) -> str:
    return f"docker image prune --force --filter label=service={config.service}"


def prune_tagged_images(config: Config) -> str:
    active = (f"$(docker container ls -a --format '{{{{.Image}}}}\\|' --filter label=service={config.service} "
              f"| tr -d '\\n'){config.latest_image}\\|{config.repository}:<none>")
    return (f"docker image ls --filter label=service={config.service} --format '{{{{.ID}}}} {{{{.Repository}}}}:"
            f"{{{{.Tag}}}}' | grep -v -w \"{active}\" | while read image tag; do docker rmi $tag; done")


def prune_app_containers(config: Config, retain: int) -> str:
    return (f"docker ps -q -a --filter label=service={config.service} --filter status=created --filter status=exited "
            f"--filter status=dead | tail -n +{retain + 1} | while read container_id; do docker rm $container_id; done")
