"""The typed, validated, immutable view of a Kamal config that every other layer uses.

Raw YAML values that reach docker (option values, clear env values, labels) are kept as YAML gave
them (str, int, float, bool, None), because Kamal's escaping distinguishes `nil`, `false` and `""`;
`app.contract` turns them into arguments. Mappings are read-only views.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app import contract

EMPTY: Mapping[str, object] = MappingProxyType({})


def frozen(value: object) -> object:
    """A deep read-only copy: dicts become mapping proxies, lists become tuples."""
    if isinstance(value, dict):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(item) for item in value)
    return value


def thawed(value: object) -> object:
    """Plain dicts and lists again (for printing)."""
    if isinstance(value, Mapping):
        return {key: thawed(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thawed(item) for item in value]
    return value


@dataclass(frozen=True)
class EnvSpec:
    """One env block: clear values, and secret env vars as (ENV_NAME, SECRET_KEY) pairs."""

    clear: Mapping[str, object] = field(default_factory=lambda: EMPTY)
    secrets: tuple[tuple[str, str], ...] = ()

    def merge(self, other: EnvSpec) -> EnvSpec:
        """Kamal's Env#merge: clear values merge (other wins); secret lists are unioned."""
        secrets = list(self.secrets)
        for pair in other.secrets:
            if pair not in secrets:
                secrets.append(pair)
        return EnvSpec(MappingProxyType({**self.clear, **other.clear}), tuple(secrets))

    @staticmethod
    def from_secret_entries(clear: Mapping[str, object], entries: list[str] | tuple[str, ...]) -> EnvSpec:
        pairs: list[tuple[str, str]] = []
        for entry in entries:
            name, _, alias = str(entry).partition(":")
            pair = (name, alias or name)
            if pair not in pairs:
                pairs.append(pair)
        return EnvSpec(MappingProxyType(dict(clear)), tuple(pairs))


@dataclass(frozen=True)
class Logging:
    driver: str | None = None
    options: Mapping[str, object] = field(default_factory=lambda: EMPTY)

    def args(self) -> list[str]:
        return contract.logging_args(self.driver, self.options)


@dataclass(frozen=True)
class ProxyRun:
    """`proxy.run`: how the kamal-proxy container itself runs (Kamal 2.10+)."""

    http_port: int = 80
    https_port: int = 443
    metrics_port: int | None = None
    debug: bool | None = None
    log_max_size: str | None = "10m"
    publish: bool = True
    bind_ips: tuple[str, ...] | None = None
    registry: str | None = None
    repository: str = "basecamp/kamal-proxy"
    version: str = contract.MINIMUM_PROXY_VERSION
    options: Mapping[str, object] = field(default_factory=lambda: EMPTY)

    @property
    def image(self) -> str:
        return f"{'/'.join(part for part in (self.registry, self.repository) if part)}:{self.version}"


@dataclass(frozen=True)
class Proxy:
    """An effective kamal-proxy config (root merged with role, or an accessory's own)."""

    hosts: tuple[str, ...] = ()
    app_port: int = 80
    ssl: bool = False
    certificate_pem: str | None = None  # secret names of custom certificates
    private_key_pem: str | None = None
    ssl_redirect: bool | None = None
    forward_headers: bool | None = None
    response_timeout: int | None = None
    path_prefixes: tuple[str, ...] = ()
    strip_path_prefix: bool | None = None
    healthcheck_path: str | None = None
    healthcheck_interval: int | None = None
    healthcheck_timeout: int | None = None
    buffer_requests: bool = True
    buffer_responses: bool = True
    buffer_memory: int | None = None
    max_request_body: int | None = None
    max_response_body: int | None = None
    log_request_headers: tuple[str, ...] = contract.DEFAULT_LOG_REQUEST_HEADERS
    log_response_headers: tuple[str, ...] | None = None
    run: ProxyRun | None = None
    raw: Mapping[str, object] = field(default_factory=lambda: EMPTY)

    @property
    def custom_ssl_certificate(self) -> bool:
        return bool(self.certificate_pem and self.private_key_pem)


@dataclass(frozen=True)
class Registry:
    server: str | None = None
    username: str | None = None  # a literal, or the secret's name when username_is_secret
    password: str | None = None
    username_is_secret: bool = False
    password_is_secret: bool = False

    @property
    def local(self) -> bool:
        return contract.is_local_registry(self.server)

    @property
    def local_port(self) -> int | None:
        if not self.local or not self.server:
            return None
        try:
            return int(self.server.split(":")[-1])
        except ValueError:
            return 0


@dataclass(frozen=True)
class Role:
    name: str
    service: str
    destination: str | None
    hosts: tuple[str, ...]
    host_tags: Mapping[str, tuple[str, ...]]
    primary: bool
    cmd: str | None = None
    options: Mapping[str, object] = field(default_factory=lambda: EMPTY)
    custom_labels: Mapping[str, object] = field(default_factory=lambda: EMPTY)  # root labels, then the role's
    logging: Logging = field(default_factory=Logging)
    proxy: Proxy | None = None  # None when the role does not run behind kamal-proxy
    root_env: EnvSpec = field(default_factory=EnvSpec)
    role_env: EnvSpec = field(default_factory=EnvSpec)
    tag_envs: Mapping[str, EnvSpec] = field(default_factory=lambda: EMPTY)  # every tag env of the root config
    asset_path_config: str | None = None  # `path[:options]`, the role's or the root's
    stop_timeout: int | None = None

    @property
    def running_proxy(self) -> bool:
        return self.proxy is not None

    @property
    def primary_host(self) -> str | None:
        return self.hosts[0] if self.hosts else None

    @property
    def labels(self) -> dict[str, object]:
        """Labels on the role's containers: service/role/destination, then the custom ones."""
        return {**contract.app_labels(self.service, self.name, self.destination), **self.custom_labels}

    @property
    def container_prefix(self) -> str:
        return contract.container_prefix(self.service, self.name, self.destination)

    def container_name(self, version: str) -> str:
        return contract.app_container_name(self.service, self.name, self.destination, version)

    def env(self, host: str) -> EnvSpec:
        """Root env, then the role's, then each tag env of the host (Kamal's merge order)."""
        merged = self.root_env.merge(self.role_env)
        for tag in self.host_tags.get(host, ()):
            if tag in self.tag_envs:
                merged = merged.merge(self.tag_envs[tag])
        return merged

    @property
    def asset_path(self) -> str | None:
        return self.asset_path_config.split(":", 1)[0] if self.asset_path_config else None

    @property
    def asset_path_options(self) -> str | None:
        if not self.asset_path_config or ":" not in self.asset_path_config:
            return None
        return self.asset_path_config.split(":", 1)[1]

    @property
    def assets(self) -> bool:
        return bool(self.asset_path) and self.running_proxy

    @property
    def ssl(self) -> bool:
        return self.proxy is not None and self.proxy.ssl


@dataclass(frozen=True)
class AccessoryFile:
    local: str  # absolute local path (an ERB template when is_erb)
    remote: str  # path inside the container
    host_path: str  # `<service_name><remote>`, relative to the SSH user's home
    mode: str | None = "755"
    owner: str | None = None
    options: str | None = None

    @property
    def is_erb(self) -> bool:
        return self.local.endswith("erb")


@dataclass(frozen=True)
class AccessoryDirectory:
    local: str  # as written
    remote: str
    host_path: str  # `$PWD/<service_name>/<local>` (or absolute): what gets created
    volume_host_path: str  # `<service_name>/<local>` (or absolute): what gets mounted
    mode: str | None = None
    owner: str | None = None
    options: str | None = None


@dataclass(frozen=True)
class Accessory:
    name: str
    service_name: str
    image: str  # with the accessory registry's server when it has one
    hosts: tuple[str, ...]
    cmd: str | None = None
    port: str | None = None  # `host:container` form (`"3306"` becomes `3306:3306`)
    custom_labels: Mapping[str, object] = field(default_factory=lambda: EMPTY)
    options: Mapping[str, object] = field(default_factory=lambda: EMPTY)
    env: EnvSpec = field(default_factory=EnvSpec)
    files: tuple[AccessoryFile, ...] = ()
    directories: tuple[AccessoryDirectory, ...] = ()
    volumes: tuple[str, ...] = ()
    network: str = contract.NETWORK
    proxy: Proxy | None = None
    registry: Registry | None = None

    @property
    def labels(self) -> dict[str, object]:
        return {**contract.accessory_labels(self.service_name), **self.custom_labels}

    @property
    def running_proxy(self) -> bool:
        return self.proxy is not None


@dataclass(frozen=True)
class Builder:
    arches: tuple[str, ...] = ()
    remote: str | None = None
    local: bool = True
    pack_builder: str | None = None
    pack_buildpacks: tuple[str, ...] = ()
    cache_type: str | None = None
    cache_options: str | None = None
    cache_image: str | None = None
    context: str | None = None  # None: build from a clean git clone (Kamal's default)
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: Mapping[str, object] = field(default_factory=lambda: EMPTY)
    secrets: tuple[str, ...] = ()
    ssh: str | None = None
    driver: str = "docker-container"
    provenance: str | None = None
    sbom: bool | None = None
    git_clone: bool = False  # inside a git repo with no context set
    raw: Mapping[str, object] = field(default_factory=lambda: EMPTY)

    @property
    def pack(self) -> bool:
        return self.pack_builder is not None or bool(self.pack_buildpacks)

    @property
    def cached(self) -> bool:
        return self.cache_type is not None


@dataclass(frozen=True)
class Ssh:
    user: str = "root"
    port: int | str = 22
    proxy: str | None = None  # jump host, always `user@host`
    proxy_command: str | None = None
    keys: tuple[str, ...] | None = None
    keys_only: bool | None = None
    key_data: tuple[str, ...] | None = None  # secret names (or, deprecated, inline keys)
    config: bool | str | tuple[str, ...] | None = None
    log_level: str = "fatal"
    forward_agent: bool | None = None


@dataclass(frozen=True)
class Sshkit:
    max_concurrent_starts: int = 30
    pool_idle_timeout: int = 900
    dns_retries: int = 3
    raw: Mapping[str, object] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class Boot:
    limit: int | str | None = None  # a host count or a percentage such as "25%"
    wait: int | None = None
    parallel_roles: bool | None = None

    def limit_for(self, host_count: int) -> int | None:
        """Kamal's Boot#limit: a percentage is of all hosts, rounded down, at least 1."""
        if isinstance(self.limit, str) and self.limit.endswith("%"):
            digits = "".join(char for char in self.limit if char.isdigit())
            return max(host_count * int(digits or 0) // 100, 1)
        if isinstance(self.limit, str):
            return int(self.limit) if self.limit.isdigit() else None
        return self.limit


@dataclass(frozen=True)
class Config:
    config_file: str  # as given (relative to the project directory when relative)
    project_dir: str
    service: str
    image: str
    destination: str | None
    version: str | None  # None when it cannot be determined; see `require_version`
    version_problem: str | None
    registry: Registry
    roles: tuple[Role, ...]  # primary role first, then alphabetical: the order Kamal runs them
    role_names: tuple[str, ...]  # as `kamal config` lists them (alphabetical)
    primary_role: str
    primary_host: str | None
    all_hosts: tuple[str, ...]  # Kamal's Configuration#all_hosts order
    accessories: tuple[Accessory, ...]
    proxy: Proxy
    builder: Builder
    ssh: Ssh
    sshkit: Sshkit
    boot: Boot
    logging: Logging
    env: EnvSpec
    env_tags: Mapping[str, EnvSpec]
    labels: Mapping[str, object]
    volumes: tuple[str, ...]
    hooks_path: str
    hooks_output: object  # "quiet"/"verbose", a mapping hook -> level, or None
    secrets_path: str
    retain_containers: int
    readiness_delay: int
    deploy_timeout: int
    drain_timeout: int
    stop_timeout: int | None
    error_pages_path: str | None
    asset_path: str | None
    aliases: Mapping[str, str]
    minimum_version: str | None
    require_destination: bool
    allow_empty_roles: bool
    files: tuple[str, ...]  # the config files read, base first
    raw: Mapping[str, object]  # the merged config as YAML gave it

    # -- Kamal's derived names

    @property
    def service_and_destination(self) -> str:
        return contract.service_and_destination(self.service, self.destination)

    @property
    def repository(self) -> str:
        return "/".join(part for part in (self.registry.server, self.image) if part)

    def require_version(self) -> str:
        from app.errors import UsageError

        if self.version is None:
            raise UsageError(self.version_problem or "no version")
        return self.version

    @property
    def absolute_image(self) -> str:
        return f"{self.repository}:{self.require_version()}"

    @property
    def latest_tag(self) -> str:
        return contract.latest_tag(self.destination)

    @property
    def latest_image(self) -> str:
        return f"{self.repository}:{self.latest_tag}"

    @property
    def abbreviated_version(self) -> str | None:
        if self.version is None:
            return None
        return self.version if "_" in self.version else self.version[:7]

    def role(self, name: str) -> Role | None:
        return next((role for role in self.roles if role.name == name), None)

    def accessory(self, name: str) -> Accessory | None:
        return next((accessory for accessory in self.accessories if accessory.name == name), None)

    def host_roles(self, host: str) -> tuple[Role, ...]:
        return tuple(role for role in self.roles if host in role.hosts)

    def host_accessories(self, host: str) -> tuple[Accessory, ...]:
        return tuple(accessory for accessory in self.accessories if host in accessory.hosts)

    @property
    def app_hosts(self) -> tuple[str, ...]:
        return _unique(host for role in self.roles for host in role.hosts)

    @property
    def proxy_hosts(self) -> tuple[str, ...]:
        return _unique([host for role in self.roles if role.running_proxy for host in role.hosts]
                       + [host for acc in self.accessories if acc.running_proxy for host in acc.hosts])

    def hooks_output_for(self, hook: str) -> str | None:
        if isinstance(self.hooks_output, Mapping):
            level = self.hooks_output.get(hook)
            return str(level) if level is not None else None
        return str(self.hooks_output) if self.hooks_output is not None else None

    def path(self, relative: str) -> str:
        """A project-relative path (hooks, secrets, error pages) made absolute."""
        return os.path.join(self.project_dir, relative)


def _unique(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)
