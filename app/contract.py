"""The Kamal contract: every name, label, filter, path and escaping rule that must match Kamal 2.

Everything that touches a server asks this module instead of spelling a name itself, so that
`kamal` and `shipdeck` can take turns on the same servers. Pure functions, no I/O.
Source of truth: kamal-interop.md §2.4, §3.2-§3.4.
"""

from __future__ import annotations

import re
import secrets as _random
from collections.abc import Iterable, Mapping

from app.rubyish import dump, present, to_s

MINIMUM_PROXY_VERSION = "v0.9.2"
PROXY_CONTAINER = "kamal-proxy"
PROXY_IMAGE = "basecamp/kamal-proxy"
PROXY_CONFIG_VOLUME = "kamal-proxy-config"
PROXY_APPS_CONTAINER_DIR = "/home/kamal-proxy/.apps-config"
NETWORK = "kamal"
LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"
LOCAL_REGISTRY_IMAGE = "registry:3"
RUN_DIRECTORY = ".kamal"
DEFAULT_LOG_REQUEST_HEADERS = ("Cache-Control", "Last-Modified", "User-Agent")
DEFAULT_LOG_MAX_SIZE = "10m"


def _join(*parts: str | None, separator: str = "-") -> str:
    return separator.join(part for part in parts if part is not None)


# ---------------------------------------------------------------- names

def service_and_destination(service: str, destination: str | None) -> str:
    """`service` or `service-destination`: the key of the app's directories on hosts."""
    return _join(service, destination)


def container_prefix(service: str, role: str, destination: str | None) -> str:
    """`<service>-<role>[-<destination>]`; also the kamal-proxy service name of the role."""
    return _join(service, role, destination)


def app_container_name(service: str, role: str, destination: str | None, version: str) -> str:
    return f"{container_prefix(service, role, destination)}-{version}"


def replaced_container_name(container_name: str, hex16: str | None = None) -> str:
    """The name an existing container of the same version is renamed to before a reboot."""
    return f"{container_name}_replaced_{hex16 or _random.token_hex(8)}"


def exec_container_name(service: str, role: str, destination: str | None, version: str,
                        hex6: str | None = None) -> str:
    return f"{container_prefix(service, role, destination)}-exec-{version}-{hex6 or _random.token_hex(3)}"


def assets_container_name(service: str, role: str, destination: str | None) -> str:
    return f"{container_prefix(service, role, destination)}-assets"


def accessory_service_name(service: str, accessory: str, configured: str | None = None) -> str:
    """The accessory's container name and `service` label: `service:` if set, else `<service>-<name>`."""
    return configured if configured else f"{service}-{accessory}"


def proxy_service_name(service: str, role: str, destination: str | None) -> str:
    """The name an app role is deployed under in kamal-proxy."""
    return container_prefix(service, role, destination)


def latest_tag(destination: str | None) -> str:
    return _join("latest", destination)


def app_hostname(host: str, hex12: str | None = None) -> str:
    """The container hostname: the host's first 51 characters without a trailing dot, then 12 hex."""
    return f"{host[:51].removesuffix('.')}-{hex12 or _random.token_hex(6)}"


def is_local_registry(server: str | None) -> bool:
    """Kamal's `server.to_s.match?("^localhost[:$]")`."""
    return bool(server) and re.search(r"^localhost[:$]", str(server), re.MULTILINE) is not None


# ---------------------------------------------------------------- labels and filters

def app_labels(service: str, role: str, destination: str | None) -> dict[str, object]:
    """Default labels; a missing destination stays None, which argumentize renders as a bare label."""
    return {"service": service, "role": role, "destination": destination}


def accessory_labels(service_name: str) -> dict[str, object]:
    return {"service": service_name}


def app_container_filters(service: str, destination: str | None, role: str | None = None,
                          statuses: Iterable[str] = ()) -> list[str]:
    filters = [f"label=service={service}", f"label=destination={destination or ''}"]
    if role:
        filters.append(f"label=role={role}")
    filters.extend(f"status={status}" for status in statuses)
    return filters


def app_container_filter_args(service: str, destination: str | None, role: str | None = None,
                              statuses: Iterable[str] = ()) -> list[str]:
    return argumentize("--filter", app_container_filters(service, destination, role, statuses))


def image_filter_args(service: str) -> list[str]:
    return ["--filter", f"label=service={service}"]


def accessory_filter_args(service_name: str) -> list[str]:
    return ["--filter", f"label=service={service_name}"]


# ---------------------------------------------------------------- paths on hosts (relative to $HOME)

def audit_log_path(service: str, destination: str | None) -> str:
    return f"{RUN_DIRECTORY}/{_join(service, destination, 'audit.log')}"


def lock_dir(service: str, destination: str | None) -> str:
    return f"{RUN_DIRECTORY}/{_join('lock', service, destination)}"


def lock_details_path(service: str, destination: str | None) -> str:
    return f"{lock_dir(service, destination)}/details"


def app_dir(service: str, destination: str | None) -> str:
    return f"{RUN_DIRECTORY}/apps/{service_and_destination(service, destination)}"


def env_dir(service: str, destination: str | None) -> str:
    return f"{app_dir(service, destination)}/env"


def role_env_path(service: str, destination: str | None, role: str) -> str:
    return f"{env_dir(service, destination)}/roles/{role}.env"


def accessory_env_path(service: str, destination: str | None, accessory: str) -> str:
    return f"{env_dir(service, destination)}/accessories/{accessory}.env"


def assets_extracted_dir(service: str, destination: str | None, role: str, version: str) -> str:
    return f"{app_dir(service, destination)}/assets/extracted/{role}-{version}"


def assets_volume_dir(service: str, destination: str | None, role: str, version: str) -> str:
    return f"{app_dir(service, destination)}/assets/volumes/{role}-{version}"


def proxy_dir() -> str:
    return f"{RUN_DIRECTORY}/proxy"


def proxy_boot_file(name: str) -> str:
    """`options`, `image`, `image_version` or `run_command` under `.kamal/proxy`."""
    return f"{proxy_dir()}/{name}"


def proxy_apps_config_dir() -> str:
    return f"{proxy_dir()}/apps-config"


def proxy_app_config_dir(service: str, destination: str | None) -> str:
    return f"{proxy_apps_config_dir()}/{service_and_destination(service, destination)}"


def proxy_app_container_dir(service: str, destination: str | None) -> str:
    return f"{PROXY_APPS_CONTAINER_DIR}/{service_and_destination(service, destination)}"


def error_pages_dir(service: str, destination: str | None, version: str, *, container: bool = False) -> str:
    base = proxy_app_container_dir if container else proxy_app_config_dir
    return f"{base(service, destination)}/error_pages/{version}"


def tls_path(service: str, destination: str | None, filename: str, role: str | None = None, *,
             container: bool = False) -> str:
    """Custom certificate paths: `.../tls/[<role>/]cert.pem|key.pem` (accessories have no role)."""
    base = proxy_app_container_dir if container else proxy_app_config_dir
    return "/".join(part for part in (f"{base(service, destination)}/tls", role, filename) if part)


# ---------------------------------------------------------------- escaping and arguments

_ASCII_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")
_DOLLAR_WITHOUT_EXPANSION = re.compile(r"\$(?!\{[^}]*\})")
def escape_shell_value(value: object) -> str:
    """Kamal::Utils.escape_shell_value: each ASCII run dumped, backticks and bare `$` escaped."""
    parts = []
    for run in _ASCII_RUNS.findall(to_s(value)):
        if run.isascii():
            dumped = dump(run).replace("`", "\\`")
            parts.append(_DOLLAR_WITHOUT_EXPANSION.sub(r"\\$", dumped))
        else:
            parts.append(run)
    return "".join(parts)


def argumentize(argument: str, attributes: Mapping[str, object] | Iterable[str] | str,
                sensitive: bool = False) -> list[str]:
    """Kamal::Utils.argumentize: `flag key="value"`, `flag key=false`, or a bare `flag key`.

    A list (or one string) passes through unescaped, which is why volumes and ports are raw.
    With `sensitive`, the secret-bearing arguments are still returned in full: the caller masks them.
    """
    del sensitive  # values are masked where they are shown, not here
    if isinstance(attributes, str):
        pairs: list[tuple[object, object]] = [(attributes, None)]
    elif isinstance(attributes, Mapping):
        pairs = list(attributes.items())
    else:
        pairs = [(item, None) for item in attributes]
    args: list[str] = []
    for key, value in pairs:
        if present(value):
            args += [argument, f"{to_s(key)}={escape_shell_value(value)}"]
        elif value is False:
            args += [argument, f"{to_s(key)}=false"]
        else:
            args += [argument, to_s(key)]
    return args


def optionize(args: Mapping[str, object], with_: str | None = None, escape: bool = True) -> list[str]:
    """Kamal::Utils.optionize: `--k "v"` (or `--k="v"` with `with_="="`), `--k` for true, lists repeat."""
    flat: list[tuple[str, object]] = []
    for key, value in args.items():
        if isinstance(value, list | tuple):
            flat.extend((to_s(key), entry) for entry in value)
        else:
            flat.append((to_s(key), value))
    options: list[str] = []
    for key, value in flat:
        rendered = escape_shell_value(value) if escape else to_s(value)
        if with_ is not None:
            options.append(f"--{key}" if value is True else f"--{key}{with_}{rendered}")
        else:
            options.append(f"--{key}")
            if value is not True:
                options.append(rendered)
    return options


def logging_args(driver: str | None, options: Mapping[str, object]) -> list[str]:
    """Kamal::Configuration::Logging#args (default: `--log-opt max-size="10m"`)."""
    if present(driver) or present(options):
        return optionize({"log-driver": driver} if driver is not None else {}) + argumentize("--log-opt", options)
    return argumentize("--log-opt", {"max-size": DEFAULT_LOG_MAX_SIZE})


def seconds(value: int | None) -> str | None:
    """kamal-proxy durations: `"<n>s"`."""
    return None if value is None else f"{value}s"


# ---------------------------------------------------------------- env files (Kamal::EnvFile)

def _env_file_escape(value: object) -> str:
    parts = []
    for run in _ASCII_RUNS.findall(to_s(value)):
        if run.isascii():
            parts.append(re.sub(r"\\#", "#", re.sub(r'\\"', '"', dump(run)[1:-1])))
        else:
            parts.append(run)
    return "".join(parts)


def env_file_content(env: Mapping[str, object]) -> str:
    """The content of a role or accessory `.env` file; an empty env gives a single newline."""
    content = "".join(f"{key}={_env_file_escape(value)}\n" for key, value in env.items())
    return content or "\n"
