"""From the merged raw config to a validated `Config`, in Kamal 2.11's order.

Kamal validates while it builds its configuration objects (servers and roles, registry,
accessories, aliases, boot, builder, env, logging, proxy, ssh, sshkit) and then runs its
`ensure_*` checks; the first failure is the one reported. This module does the same, so that a
config with several problems fails on the same one as `kamal`.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app import contract
from app.config import schema
from app.config.model import (
    EMPTY,
    Accessory,
    AccessoryDirectory,
    AccessoryFile,
    Boot,
    Builder,
    Config,
    EnvSpec,
    Logging,
    Proxy,
    ProxyRun,
    Registry,
    Role,
    Ssh,
    Sshkit,
    frozen,
)
from app.config.validate import (
    AccessoryValidator,
    AliasValidator,
    BuilderValidator,
    ConfigurationValidator,
    EnvValidator,
    Invalid,
    ProxyValidator,
    RegistryValidator,
    RoleValidator,
    ServersValidator,
    Validator,
)
from app.config.yamlsource import LocatedDict, locate
from app.errors import ConfigError
from app.rubyish import blank, present, to_s, truthy

PathT = tuple[object, ...]


@dataclass
class _RoleDraft:
    name: str
    config: Mapping[str, object]  # the role's own settings ({} for a plain host list)
    tagged_hosts: dict[str, tuple[str, ...]]
    primary: bool
    proxy_config: Mapping[str, object] | None  # the role's own proxy settings when it runs the proxy
    merged_proxy: Mapping[str, object] | None = None


class _Build:
    def __init__(self, raw: LocatedDict, *, config_file: str, files: Sequence[str], destination: str | None,
                 cwd: str, git_used: bool) -> None:
        self.raw = raw
        self.config_file = config_file
        self.files = list(files)
        self.destination = destination
        self.cwd = cwd
        self.git_used = git_used

    # -- errors with file:line

    def fail(self, message: str, path: PathT = ()) -> None:
        location = locate(self.raw, path) if path else None
        if location is None:
            raise ConfigError(message, file=self.config_file)
        raise ConfigError(message, file=location.file, line=location.line)

    def check(self, validator: Validator) -> None:
        try:
            validator.validate()
        except Invalid as invalid:
            self.fail(invalid.message, invalid.path)

    def get(self, key: str, default: object = None) -> object:
        return self.raw.get(key, default)

    # -- the steps

    def run(self) -> dict[str, object]:
        self.check(ConfigurationValidator(self.raw, schema.CONFIGURATION, ()))
        roles = self.servers()
        self.check(RegistryValidator(self.get("registry") or {}, schema.REGISTRY, ("registry",)))
        accessories = self.accessories(roles)
        self.aliases()
        self.check(Validator(self.get("boot") or {}, schema.BOOT, ("boot",)))
        self.check(BuilderValidator(self.get("builder") or {}, schema.BUILDER, ("builder",)))
        self.check(EnvValidator(self.get("env") or {}, None, ("env",)))
        self.check(Validator(self.get("logging") or {}, schema.LOGGING, ("logging",)))
        root_proxy = self.get("proxy")
        self.check(ProxyValidator({} if root_proxy is None else root_proxy, schema.PROXY, ("proxy",)))
        self.check(Validator(self.get("ssh") or {}, schema.SSH, ("ssh",)))
        self.check(Validator(self.get("sshkit") or {}, schema.SSHKIT, ("sshkit",)))
        if "output" in self.raw:
            self.check(Validator(self.get("output"), schema.OUTPUT, ("output",)))

        self.ensure_destination_if_required()
        self.ensure_required_keys_present(roles)
        self.ensure_valid_kamal_version()
        self.ensure_retain_containers_valid()
        self.ensure_valid_service_name()
        self.ensure_no_traefik_reboot_hooks()
        self.ensure_one_host_for_ssl_roles(roles)
        self.ensure_unique_hosts_for_ssl_roles(roles)
        self.ensure_local_registry_remote_builder_has_ssh_url()
        self.ensure_no_conflicting_proxy_runs(roles, accessories)
        self.ensure_valid_hooks_output()
        self.ensure_ssh_port_usable()
        return {"roles": roles, "accessories": accessories}

    # -- servers and roles

    def primary_role_name(self) -> str:
        return to_s(self.get("primary_role") or "web")

    def servers(self) -> list[_RoleDraft]:
        servers = self.get("servers")
        self.check(ServersValidator(servers, None, ("servers",)))
        if isinstance(servers, list):
            names = ["web"]
        elif servers is None:
            names = []
        else:
            names = sorted(servers, key=to_s)
        return [self.role(name, servers) for name in names]

    def role(self, name: object, servers: object) -> _RoleDraft:
        role_config = {} if isinstance(servers, list) else servers[name]  # type: ignore[index]
        context = ("servers", name)
        self.check(RoleValidator(role_config, schema.ROLE, context))
        own = {} if isinstance(role_config, list) else role_config
        self.check(EnvValidator(own.get("env", {}), None, (*context, "env")))
        self.check(Validator(own.get("logging", {}), schema.LOGGING, (*context, "logging")))
        primary = to_s(name) == self.primary_role_name()
        proxy_setting = own.get("proxy")
        running = proxy_setting is not False if primary else truthy(proxy_setting)
        proxy_config = None
        if running:
            proxy_config = {} if proxy_setting is True or proxy_setting is None else proxy_setting
            self.check(ProxyValidator(proxy_config, schema.PROXY, (*context, "proxy")))
        if isinstance(servers, list):
            entries = servers
        elif isinstance(role_config, list):
            entries = role_config
        else:
            hosts = role_config.get("hosts")
            entries = hosts if isinstance(hosts, list) else ([] if hosts is None else [hosts])
        return _RoleDraft(to_s(name), own, _tagged_hosts(entries), primary, proxy_config)

    def merged_proxy(self, role: _RoleDraft) -> Mapping[str, object] | None:
        """Role#proxy: the root proxy deep-merged with the role's, validated again as Kamal does."""
        if role.proxy_config is None:
            return None
        if role.merged_proxy is None:
            from app.config.loader import deep_merge

            root = self.get("proxy")
            merged = deep_merge(root if isinstance(root, dict) else {}, role.proxy_config)
            where: PathT = ("servers", role.name, "proxy") if role.config.get("proxy") else ("proxy",)
            self.check(ProxyValidator(merged, schema.PROXY, ("proxy",), where))
            role.merged_proxy = merged  # type: ignore[assignment]
        return role.merged_proxy

    # -- accessories and aliases

    def accessories(self, roles: list[_RoleDraft]) -> list[tuple[str, Mapping[str, object]]]:
        configured = self.get("accessories")
        if not truthy(configured) or not isinstance(configured, dict):
            return []
        role_names = [role.name for role in roles]
        result = []
        for name, config in configured.items():
            context = ("accessories", name)
            self.check(AccessoryValidator(config, schema.ACCESSORY, context))
            if truthy(config.get("roles")):
                missing = [role for role in config["roles"] if to_s(role) not in role_names]
                if missing:
                    self.fail(f"accessories/{to_s(name)}: unknown roles {', '.join(map(to_s, missing))}",
                              (*context, "roles"))
            elif truthy(config.get("role")) and to_s(config["role"]) not in role_names:
                self.fail(f"accessories/{to_s(name)}: unknown role {to_s(config['role'])}", (*context, "role"))
            self.check(EnvValidator(config.get("env", {}), None, (*context, "env")))
            if present(config.get("proxy")):
                self.check(ProxyValidator(config["proxy"], schema.PROXY, (*context, "proxy")))
            if present(config.get("registry")):
                self.check(RegistryValidator(config["registry"], schema.REGISTRY, (*context, "registry")))
            result.append((to_s(name), config))
        return result

    def aliases(self) -> None:
        aliases = self.get("aliases")
        if not truthy(aliases) or not isinstance(aliases, dict):
            return
        for name, command in aliases.items():
            self.check(AliasValidator(command, schema.ALIAS, ("aliases", name)))

    # -- Kamal's ensure_* checks

    def ensure_destination_if_required(self) -> None:
        if truthy(self.get("require_destination")) and self.destination is None:
            self.fail("You must specify a destination", ("require_destination",))

    def image(self) -> object:
        image = self.get("image")
        if present(image):
            return image
        registry = self.get("registry")
        server = registry.get("server") if isinstance(registry, dict) else None
        return self.get("service") if contract.is_local_registry(server) else None

    def ensure_required_keys_present(self, roles: list[_RoleDraft]) -> None:
        for key in ("service", "registry"):
            if not present(self.get(key)):
                self.fail(f"Missing required configuration for {key}", (key,))
        if blank(self.image()):
            self.fail("Missing required configuration for image", ("image",))
        if self.get("servers") is None:
            if not present(self.get("accessories")):
                self.fail("No servers or accessories specified")
            return
        primary_name = self.primary_role_name()
        primary = next((role for role in roles if role.name == primary_name), None)
        if primary is None:
            self.fail(f"The primary_role {primary_name} isn't defined", ("primary_role",)
                      if "primary_role" in self.raw else ("servers",))
        assert primary is not None
        if not primary.tagged_hosts:
            self.fail(f"No servers specified for the {primary.name} primary_role", ("servers", primary.name))
        if not truthy(self.get("allow_empty_roles")):
            for role in roles:
                if not role.tagged_hosts:
                    self.fail(f"No servers specified for the {role.name} role. You can ignore this with "
                              "allow_empty_roles: true", ("servers", role.name))

    def ensure_valid_kamal_version(self) -> None:
        minimum = self.get("minimum_version")
        if minimum is None:
            return
        try:
            too_new = gem_version(to_s(minimum)) > gem_version(schema.KAMAL_VERSION)
        except ValueError:
            self.fail(f"Malformed version number string {to_s(minimum)}", ("minimum_version",))
        if too_new:
            self.fail(f"Current version is {schema.KAMAL_VERSION}, minimum required is {to_s(minimum)}",
                      ("minimum_version",))

    def ensure_retain_containers_valid(self) -> None:
        retain = self.get("retain_containers")
        if isinstance(retain, int) and retain < 1:
            self.fail("Must retain at least 1 container", ("retain_containers",))

    def ensure_valid_service_name(self) -> None:
        service = self.get("service")
        # A non-string service crashes Kamal 2.11 (NoMethodError); refuse it with the name rule instead.
        if not isinstance(service, str) or not re.search(r"^[a-z0-9_-]+$", service, re.IGNORECASE | re.MULTILINE):
            self.fail("Service name can only include alphanumeric characters, hyphens, and underscores",
                      ("service",))

    def ensure_no_traefik_reboot_hooks(self) -> None:
        hooks_path = to_s(self.get("hooks_path") or ".kamal/hooks")
        found = [hook for hook in ("pre-traefik-reboot", "post-traefik-reboot")
                 if os.path.exists(os.path.join(self.cwd, hooks_path, hook))]
        if found:
            self.fail(f"Found {', '.join(found)}, these should be renamed to (pre|post)-proxy-reboot",
                      ("hooks_path",))

    def ensure_one_host_for_ssl_roles(self, roles: list[_RoleDraft]) -> None:
        for role in roles:
            proxy = self.merged_proxy(role)
            if proxy is None or not truthy(proxy.get("ssl", False)):
                continue
            if len(role.tagged_hosts) > 1 and not _custom_certificate(proxy):
                self.fail("SSL is only supported on a single server unless you provide custom certificates, "
                          f"found {len(role.tagged_hosts)} servers for role {role.name}",
                          ("servers", role.name, "proxy") if role.config.get("proxy") else ("proxy", "ssl"))

    def ensure_unique_hosts_for_ssl_roles(self, roles: list[_RoleDraft]) -> None:
        hosts: list[str] = []
        for role in roles:
            proxy = self.merged_proxy(role)
            if proxy is not None and truthy(proxy.get("ssl", False)):
                hosts.extend(_proxy_hosts(proxy))
        duplicates = [host for host in dict.fromkeys(hosts) if hosts.count(host) > 1]
        if duplicates:
            root = self.get("proxy")
            key = next((k for k in ("hosts", "host") if isinstance(root, dict) and k in root), None)
            self.fail(f"Different roles can't share the same host for SSL: {', '.join(duplicates)}",
                      ("proxy", key) if key else ("proxy",))

    def ensure_local_registry_remote_builder_has_ssh_url(self) -> None:
        registry = self.get("registry") or {}
        builder = self.get("builder") or {}
        if not (isinstance(registry, dict) and isinstance(builder, dict)):
            return
        if not contract.is_local_registry(registry.get("server")):
            return
        remote = builder.get("remote")
        if not truthy(remote) or not _remote_arches(builder):
            return
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", to_s(remote))
        if not scheme or scheme.group(1).lower() != "ssh":
            self.fail("Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)",
                      ("builder", "remote"))

    def ensure_no_conflicting_proxy_runs(self, roles: list[_RoleDraft],
                                         accessories: list[tuple[str, Mapping[str, object]]]) -> None:
        # Kamal 2.11 compares the run settings by object identity, so two proxy-running roles or
        # accessories with any `run` block on one host always conflict, even when identical.
        role_hosts = {role.name: list(role.tagged_hosts) for role in roles}
        accessory_hosts = {name: _accessory_hosts(config, self.get("servers"), role_hosts)
                           for name, config in accessories}
        all_hosts = _unique([host for hosts in role_hosts.values() for host in hosts]
                            + [host for hosts in accessory_hosts.values() for host in hosts])
        for host in all_hosts:
            runs = 0
            for role in roles:
                proxy = self.merged_proxy(role)
                if host in role.tagged_hosts and proxy is not None and present(proxy.get("run")):
                    runs += 1
            for name, config in accessories:
                proxy = config.get("proxy")
                if host in accessory_hosts[name] and present(proxy) and isinstance(proxy, dict) \
                        and present(proxy.get("run")):
                    runs += 1
            if runs > 1:
                self.fail(f"Conflicting proxy run configurations for host {host}", ("proxy", "run"))

    def ensure_valid_hooks_output(self) -> None:
        value = self.get("hooks_output")
        if isinstance(value, dict):
            for hook, level in value.items():
                if to_s(level) not in ("quiet", "verbose"):
                    self.fail(f"Invalid hooks_output '{to_s(level)}' for hook '{to_s(hook)}', must be one of: "
                              "quiet, verbose", ("hooks_output", hook))
        elif isinstance(value, str) and to_s(value) not in ("quiet", "verbose"):
            self.fail(f"Invalid hooks_output '{to_s(value)}', must be one of: quiet, verbose", ("hooks_output",))


    def ensure_ssh_port_usable(self) -> None:
        """Not a Kamal check: Kamal accepts any string here and fails only when it connects (Net::SSH asks
        getaddrinfo for the service), so a port that cannot work is refused now, before anything runs."""
        ssh = self.get("ssh")
        if not isinstance(ssh, dict) or "port" not in ssh:
            return
        if ssh_port(ssh["port"]) is None:
            self.fail(f"ssh/port: {to_s(ssh['port'])!r} is neither a port number (1-65535) nor a service name "
                      "known to this machine (Kamal fails on it when it connects)", ("ssh", "port"))


def ssh_port(value: object) -> int | None:
    """The TCP port Net::SSH connects to for `ssh.port`: a number, or a service name (`ssh`), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 65536 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return int(text) if 0 < int(text) < 65536 else None
    try:
        import socket

        return socket.getservbyname(text, "tcp")
    except (OSError, UnicodeError, ValueError):
        return None


# ---------------------------------------------------------------- helpers shared with assembly

def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _tagged_hosts(entries: Sequence[object]) -> dict[str, tuple[str, ...]]:
    """Role#tagged_hosts: host → tags; entries that are neither a host nor `{host: tags}` are skipped."""
    tagged: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        if isinstance(entry, dict) and entry:
            host, tags = next(iter(entry.items()))
            tag_list = tags if isinstance(tags, list) else ([] if tags is None else [tags])
            tagged[to_s(host)] = tuple(to_s(tag) for tag in tag_list)
        elif isinstance(entry, str):
            tagged[entry] = ()
    return tagged


def _proxy_hosts(proxy: Mapping[str, object]) -> list[str]:
    hosts = proxy.get("hosts")
    if truthy(hosts):
        return [to_s(host) for host in hosts]  # type: ignore[union-attr]
    host = proxy.get("host")
    return to_s(host).split(",") if truthy(host) else []


def _custom_certificate(proxy: Mapping[str, object]) -> bool:
    ssl = proxy.get("ssl")
    return isinstance(ssl, dict) and present(ssl.get("certificate_pem")) and present(ssl.get("private_key_pem"))


def docker_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _arches(builder: Mapping[str, object]) -> list[str]:
    driver = to_s(builder.get("driver", "docker-container"))
    arch = builder.get("arch", [] if driver == "docker" else ["amd64", "arm64"])
    return [to_s(item) for item in (arch if isinstance(arch, list) else [arch] if arch is not None else [])]


def _local_arches(builder: Mapping[str, object]) -> list[str]:
    if builder.get("local") is False:
        return []
    arches = _arches(builder)
    if truthy(builder.get("remote")):
        return [arch for arch in arches if arch == docker_arch()]
    return arches


def _remote_arches(builder: Mapping[str, object]) -> list[str]:
    if not truthy(builder.get("remote")):
        return []
    local = _local_arches(builder)
    return [arch for arch in _arches(builder) if arch not in local]


def _accessory_hosts(config: Mapping[str, object], servers: object,
                     role_hosts: Mapping[str, list[str]]) -> list[str]:
    """Accessory#hosts: host, else hosts, else role(s), else tag(s)."""
    if "host" in config:
        return [to_s(config["host"])]
    if "hosts" in config:
        hosts = config["hosts"] or []
        return [to_s(next(iter(h))) if isinstance(h, dict) else to_s(h) for h in hosts]  # type: ignore[union-attr]
    if "role" in config:
        return list(role_hosts.get(to_s(config["role"]), []))
    if "roles" in config:
        return [host for role in config["roles"] or [] for host in role_hosts.get(to_s(role), [])]  # type: ignore[union-attr]
    tags = [config["tag"]] if "tag" in config else list(config.get("tags") or [])  # type: ignore[call-overload]
    return [host for tag in tags for host in _hosts_with_tag(servers, to_s(tag))]


def _hosts_with_tag(servers: object, tag: str) -> list[str]:
    # As Kamal 2.11: only roles written as plain host lists are searched; a tag string matches
    # by substring (`String#include?`).
    if not isinstance(servers, dict):
        return []
    found = []
    for entries in servers.values():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, dict) and entry:
                host, tags = next(iter(entry.items()))
                if (isinstance(tags, list) and tag in tags) or (isinstance(tags, str) and tag in tags):
                    found.append(to_s(host))
    return found


def gem_version(text: str) -> tuple:
    """Gem::Version ordering: numeric segments compare as numbers, letters mark a pre-release."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?", text):
        if text:
            raise ValueError(text)
        text = "0"
    text = text.replace("-", ".pre.")
    segments: list[int | str] = [int(part) if part.isdigit() else part
                                 for part in re.findall(r"[0-9]+|[a-z]+", text, re.IGNORECASE)]
    while len(segments) > 1 and segments[-1] == 0:
        segments.pop()
    # A string segment sorts before any number; pad so that 1.0 == 1.
    return (*tuple((1, segment) if isinstance(segment, int) else (0, segment) for segment in segments), (1, 0))


# ---------------------------------------------------------------- assembly of the typed objects

def _env_spec(config: object) -> EnvSpec:
    """Kamal's Env: `clear` (or, in the simple form, the whole hash) and the `secret` entries."""
    if not isinstance(config, dict):
        return EnvSpec()
    if "clear" in config:
        clear = config["clear"] or {}
    elif "secret" in config or "tags" in config:
        clear = {}
    else:
        clear = config
    clear = {key if type(key) is str else to_s(key): value for key, value in clear.items()}
    return EnvSpec.from_secret_entries(frozen(clear), [to_s(item) for item in config.get("secret") or []])  # type: ignore[arg-type]


def _logging(config: object) -> Logging:
    config = config if isinstance(config, dict) else {}
    options = config.get("options", {})
    return Logging(driver=config.get("driver"), options=frozen(options if isinstance(options, dict) else {}))  # type: ignore[arg-type]


def _proxy(config: Mapping[str, object]) -> Proxy:
    healthcheck = config.get("healthcheck") or {}
    buffering = config.get("buffering") or {}
    logging = config.get("logging") or {}
    ssl = config.get("ssl", False)
    run = config.get("run")
    prefixes = config.get("path_prefixes")
    if prefixes is None:
        prefix = config.get("path_prefix")
        prefixes = to_s(prefix).split(",") if prefix is not None else []
    return Proxy(
        hosts=tuple(_proxy_hosts(config)),
        app_port=config.get("app_port", 80),  # type: ignore[arg-type]
        ssl=truthy(ssl),
        certificate_pem=ssl.get("certificate_pem") if isinstance(ssl, dict) else None,
        private_key_pem=ssl.get("private_key_pem") if isinstance(ssl, dict) else None,
        ssl_redirect=config.get("ssl_redirect"),  # type: ignore[arg-type]
        forward_headers=config.get("forward_headers"),  # type: ignore[arg-type]
        response_timeout=config.get("response_timeout"),  # type: ignore[arg-type]
        path_prefixes=tuple(to_s(p) for p in prefixes),  # type: ignore[union-attr]
        strip_path_prefix=config.get("strip_path_prefix"),  # type: ignore[arg-type]
        healthcheck_path=healthcheck.get("path"),  # type: ignore[union-attr]
        healthcheck_interval=healthcheck.get("interval"),  # type: ignore[union-attr]
        healthcheck_timeout=healthcheck.get("timeout"),  # type: ignore[union-attr]
        buffer_requests=buffering.get("requests", True),  # type: ignore[union-attr]
        buffer_responses=buffering.get("responses", True),  # type: ignore[union-attr]
        buffer_memory=buffering.get("memory"),  # type: ignore[union-attr]
        max_request_body=buffering.get("max_request_body"),  # type: ignore[union-attr]
        max_response_body=buffering.get("max_response_body"),  # type: ignore[union-attr]
        log_request_headers=tuple(logging.get("request_headers") or contract.DEFAULT_LOG_REQUEST_HEADERS),  # type: ignore[union-attr]
        log_response_headers=tuple(logging["response_headers"]) if logging.get("response_headers") else None,  # type: ignore[union-attr,index]
        run=_proxy_run(run) if present(run) and isinstance(run, dict) else None,
        raw=frozen(dict(config)),  # type: ignore[arg-type]
    )


def _proxy_run(run: Mapping[str, object]) -> ProxyRun:
    bind_ips = run.get("bind_ips")
    return ProxyRun(
        http_port=run.get("http_port", 80),  # type: ignore[arg-type]
        https_port=run.get("https_port", 443),  # type: ignore[arg-type]
        metrics_port=run.get("metrics_port"),  # type: ignore[arg-type]
        debug=run.get("debug"),  # type: ignore[arg-type]
        log_max_size=run.get("log_max_size", contract.DEFAULT_LOG_MAX_SIZE),  # type: ignore[arg-type]
        publish=run.get("publish", True),  # type: ignore[arg-type]
        bind_ips=tuple(bind_ips) if isinstance(bind_ips, list) else None,
        registry=run.get("registry"),  # type: ignore[arg-type]
        repository=run.get("repository", contract.PROXY_IMAGE),  # type: ignore[arg-type]
        version=run.get("version", contract.MINIMUM_PROXY_VERSION),  # type: ignore[arg-type]
        options=frozen(run.get("options") or {}),  # type: ignore[arg-type]
    )


def _registry(config: object) -> Registry:
    config = config if isinstance(config, dict) else {}

    def credential(key: str) -> tuple[str | None, bool]:
        value = config.get(key)
        if isinstance(value, list):
            return (to_s(value[0]) if value else None), True
        return (to_s(value) if value is not None else None), False

    username, username_secret = credential("username")
    password, password_secret = credential("password")
    server = config.get("server")
    return Registry(server=to_s(server) if server is not None else None, username=username,
                    password=password, username_is_secret=username_secret, password_is_secret=password_secret)


def _accessory(name: str, config: Mapping[str, object], service: str, cwd: str, servers: object,
               role_hosts: Mapping[str, list[str]]) -> Accessory:
    service_name = contract.accessory_service_name(service, name, to_s(config["service"])
                                                   if config.get("service") else None)
    registry = _registry(config["registry"]) if present(config.get("registry")) else None
    image = "/".join(part for part in ((registry.server if registry else None), to_s(config.get("image"))) if part)
    port = config.get("port")
    port_text = None if port is None else to_s(port) if ":" in to_s(port) else f"{to_s(port)}:{to_s(port)}"
    proxy = _proxy(config["proxy"]) if present(config.get("proxy")) and isinstance(config["proxy"], dict) else None
    return Accessory(
        name=name,
        service_name=service_name,
        image=image,
        hosts=tuple(_unique(_accessory_hosts(config, servers, role_hosts))),
        cmd=config.get("cmd"),  # type: ignore[arg-type]
        port=port_text,
        custom_labels=frozen(config.get("labels") or {}),  # type: ignore[arg-type]
        options=frozen(config.get("options") or {}),  # type: ignore[arg-type]
        env=_env_spec(config.get("env", {})),
        files=tuple(_accessory_file(entry, service_name, cwd) for entry in config.get("files") or []),  # type: ignore[union-attr]
        directories=tuple(_accessory_directory(entry, service_name)
                          for entry in config.get("directories") or []),  # type: ignore[union-attr]
        volumes=tuple(to_s(volume) for volume in config.get("volumes") or []),  # type: ignore[union-attr]
        network=to_s(config.get("network") or contract.NETWORK),
        proxy=proxy,
        registry=registry,
    )


def _path_entry(entry: object, default_mode: str | None) -> tuple[str, str, str | None, str | None, str | None]:
    if isinstance(entry, dict):
        def opt(key: str) -> str | None:
            return to_s(entry[key]) if entry.get(key) is not None else None

        return to_s(entry.get("local")), to_s(entry.get("remote")), opt("options"), \
            opt("mode") or default_mode, opt("owner")
    local, remote, options = ([*to_s(entry).split(":", 2), None, None])[:3]  # type: ignore[list-item]
    return local or "", remote or "", options, default_mode, None


def _accessory_file(entry: object, service_name: str, cwd: str) -> AccessoryFile:
    local, remote, options, mode, owner = _path_entry(entry, "755")
    expanded = os.path.normpath(os.path.join(cwd, os.path.expanduser(local)))
    return AccessoryFile(local=expanded, remote=remote, host_path=service_name + remote, mode=mode, owner=owner,
                         options=options)


def _accessory_directory(entry: object, service_name: str) -> AccessoryDirectory:
    local, remote, options, mode, owner = _path_entry(entry, None)
    absolute = local.startswith("/")
    return AccessoryDirectory(
        local=local,
        remote=remote,
        host_path=local if absolute else f"$PWD/{service_name}/{local}",
        volume_host_path=local if absolute else f"{service_name}/{local}",
        mode=mode,
        owner=owner,
        options=options,
    )


def _builder(config: Mapping[str, object], git_used: bool) -> Builder:
    pack = config.get("pack") or {}
    cache = config.get("cache") or {}
    return Builder(
        arches=tuple(_arches(config)),
        remote=config.get("remote"),  # type: ignore[arg-type]
        local=config.get("local") is not False,
        pack_builder=pack.get("builder") if isinstance(pack, dict) and pack else None,
        pack_buildpacks=tuple(pack.get("buildpacks") or []) if isinstance(pack, dict) else (),
        cache_type=cache.get("type") if isinstance(cache, dict) and cache else None,
        cache_options=cache.get("options") if isinstance(cache, dict) else None,
        cache_image=cache.get("image") if isinstance(cache, dict) else None,
        context=config.get("context"),  # type: ignore[arg-type]
        dockerfile=to_s(config.get("dockerfile") or "Dockerfile"),
        target=config.get("target"),  # type: ignore[arg-type]
        args=frozen(config.get("args") or {}),  # type: ignore[arg-type]
        secrets=tuple(to_s(item) for item in config.get("secrets") or []),  # type: ignore[union-attr]
        ssh=config.get("ssh"),  # type: ignore[arg-type]
        driver=to_s(config.get("driver", "docker-container")),
        provenance=config.get("provenance"),  # type: ignore[arg-type]
        sbom=config.get("sbom"),  # type: ignore[arg-type]
        git_clone=git_used and config.get("context") is None,
        raw=frozen(dict(config)),  # type: ignore[arg-type]
    )


def _ssh(config: Mapping[str, object]) -> Ssh:
    proxy = config.get("proxy")
    proxy_text = None if proxy is None else (to_s(proxy) if "@" in to_s(proxy) else f"root@{to_s(proxy)}")
    ssh_config = config.get("config")
    return Ssh(
        user=to_s(config.get("user", "root")),
        port=ssh_port(config.get("port", 22)) or 22,
        proxy=proxy_text,
        proxy_command=config.get("proxy_command") if proxy is None else None,  # type: ignore[arg-type]
        keys=tuple(to_s(key) for key in config["keys"]) if isinstance(config.get("keys"), list) else None,  # type: ignore[union-attr]
        keys_only=config.get("keys_only"),  # type: ignore[arg-type]
        key_data=tuple(to_s(k) for k in config["key_data"]) if isinstance(config.get("key_data"), list) else None,  # type: ignore[union-attr]
        config=tuple(ssh_config) if isinstance(ssh_config, list) else ssh_config,  # type: ignore[arg-type]
        log_level=to_s(config.get("log_level", "fatal")),
        forward_agent=config.get("forward_agent"),  # type: ignore[arg-type]
    )


def _sshkit(config: Mapping[str, object]) -> Sshkit:
    return Sshkit(
        max_concurrent_starts=config.get("max_concurrent_starts", 30),  # type: ignore[arg-type]
        pool_idle_timeout=config.get("pool_idle_timeout", 900),  # type: ignore[arg-type]
        dns_retries=int(config.get("dns_retries", 3)),  # type: ignore[call-overload]
        raw=frozen(dict(config)),  # type: ignore[arg-type]
    )


def build_config(raw: LocatedDict, *, config_file: str, files: Sequence[str], destination: str | None,
                 cwd: str, version: str | None, version_problem: str | None, git_used: bool) -> Config:
    """Validate `raw` as Kamal does and assemble the typed `Config`."""
    build = _Build(raw, config_file=config_file, files=files, destination=destination, cwd=cwd, git_used=git_used)
    drafts = build.run()
    role_drafts: list[_RoleDraft] = drafts["roles"]  # type: ignore[assignment]
    accessory_configs: list[tuple[str, Mapping[str, object]]] = drafts["accessories"]  # type: ignore[assignment]

    service = to_s(raw.get("service"))
    env_config = raw.get("env") or {}
    root_env = _env_spec(env_config)
    tags = env_config.get("tags") if isinstance(env_config, dict) else None
    env_tags = {to_s(tag): _env_spec(config) for tag, config in (tags or {}).items()}
    root_logging_config = raw.get("logging") or {}
    root_labels = raw.get("labels") or {}

    roles: list[Role] = []
    for draft in role_drafts:
        own = draft.config
        logging_config = _deep_merge_plain(root_logging_config, own.get("logging") or {})
        merged_proxy = build.merged_proxy(draft)
        asset = own.get("asset_path") or raw.get("asset_path")
        stop_timeout = own.get("stop_timeout", raw.get("stop_timeout"))
        roles.append(Role(
            name=draft.name,
            service=service,
            destination=destination,
            hosts=tuple(draft.tagged_hosts),
            host_tags=frozen(draft.tagged_hosts),  # type: ignore[arg-type]
            primary=draft.primary,
            cmd=own.get("cmd"),  # type: ignore[arg-type]
            options=frozen(own.get("options") or {}),  # type: ignore[arg-type]
            custom_labels=frozen({**(root_labels if present(root_labels) else {}),
                                  **(own.get("labels") or {})}),  # type: ignore[dict-item]
            logging=_logging(logging_config),
            proxy=_proxy(merged_proxy) if merged_proxy is not None else None,
            root_env=root_env,
            role_env=_env_spec(own.get("env", {})),
            tag_envs=frozen(env_tags),  # type: ignore[arg-type]
            asset_path_config=to_s(asset) if present(asset) else None,
            stop_timeout=stop_timeout,  # type: ignore[arg-type]
        ))
    role_hosts = {role.name: list(role.hosts) for role in roles}
    accessories = tuple(_accessory(name, config, service, cwd, raw.get("servers"), role_hosts)
                        for name, config in accessory_configs)
    all_hosts = tuple(_unique([host for role in roles for host in role.hosts]
                              + [host for accessory in accessories for host in accessory.hosts]))
    primary_name = build.primary_role_name()
    primary = next((role for role in roles if role.name == primary_name), None)
    ordered_roles = tuple(sorted(roles, key=lambda role: 0 if role.primary else 1))
    servers = raw.get("servers")
    role_names = ("web",) if isinstance(servers, list) else tuple(role.name for role in roles)
    root_proxy = raw.get("proxy")
    image = build.image()

    return Config(
        config_file=config_file,
        project_dir=cwd,
        service=service,
        image=to_s(image),
        destination=destination,
        version=version,
        version_problem=version_problem,
        registry=_registry(raw.get("registry")),
        roles=ordered_roles,
        role_names=role_names,
        primary_role=primary_name,
        primary_host=primary.primary_host if primary else None,
        all_hosts=all_hosts,
        accessories=accessories,
        proxy=_proxy(root_proxy if isinstance(root_proxy, dict) else {}),
        builder=_builder(raw.get("builder") or {}, git_used),  # type: ignore[arg-type]
        ssh=_ssh(raw.get("ssh") or {}),  # type: ignore[arg-type]
        sshkit=_sshkit(raw.get("sshkit") or {}),  # type: ignore[arg-type]
        boot=_boot(raw.get("boot") or {}),  # type: ignore[arg-type]
        logging=_logging(root_logging_config),
        env=root_env,
        env_tags=frozen(env_tags),  # type: ignore[arg-type]
        labels=frozen(root_labels if isinstance(root_labels, dict) else {}),  # type: ignore[arg-type]
        volumes=tuple(to_s(volume) for volume in raw.get("volumes") or []),  # type: ignore[union-attr]
        hooks_path=to_s(raw.get("hooks_path") or ".kamal/hooks"),
        hooks_output=frozen(raw.get("hooks_output")),
        secrets_path=to_s(raw.get("secrets_path") or ".kamal/secrets"),
        retain_containers=raw.get("retain_containers") or 5,  # type: ignore[arg-type]
        readiness_delay=raw.get("readiness_delay") or 7,  # type: ignore[arg-type]
        deploy_timeout=raw.get("deploy_timeout") or 30,  # type: ignore[arg-type]
        drain_timeout=raw.get("drain_timeout") or 30,  # type: ignore[arg-type]
        stop_timeout=raw.get("stop_timeout"),  # type: ignore[arg-type]
        error_pages_path=raw.get("error_pages_path"),  # type: ignore[arg-type]
        asset_path=raw.get("asset_path"),  # type: ignore[arg-type]
        aliases=frozen({to_s(k): to_s(v) for k, v in (raw.get("aliases") or {}).items()}),  # type: ignore[union-attr,arg-type]
        minimum_version=to_s(raw["minimum_version"]) if raw.get("minimum_version") is not None else None,
        require_destination=truthy(raw.get("require_destination")),
        allow_empty_roles=truthy(raw.get("allow_empty_roles")),
        files=tuple(files),
        raw=frozen(dict(raw)),  # type: ignore[arg-type]
    )


def _boot(config: Mapping[str, object]) -> Boot:
    return Boot(limit=config.get("limit"), wait=config.get("wait"),  # type: ignore[arg-type]
                parallel_roles=config.get("parallel_roles"))  # type: ignore[arg-type]


def _deep_merge_plain(base: object, override: object) -> object:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge_plain(base[key], value) if key in base else value
        return merged
    return override


__all__ = ["EMPTY", "build_config", "gem_version"]
