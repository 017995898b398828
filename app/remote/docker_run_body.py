"""Fill the create body from parsed `docker run` flags, field by field as docker CLI 28 does for API 1.41."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.remote import docker_values as values
from app.remote.docker_errors import DockerCommandError, NotTranslatable
from app.remote.docker_mounts import Storage
from app.remote.docker_ports import Ports
from app.remote.docker_run_argv import SHORT, RunArgs

_SYSCTL_PREFIXES = ("kernel.msg", "kernel.shm", "fs.mqueue.", "net.")
_SYSCTL_NAMES = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                 "kernel.shmmni", "kernel.shm_rmid_forced")
_BUILTIN_NETWORKS = ("default", "bridge", "host", "none")


def empty_endpoint() -> dict[str, Any]:
    return {"Aliases": None, "DNSNames": None, "DriverOpts": None, "EndpointID": "", "Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "GwPriority": 0, "IPAMConfig": None, "IPAddress": "",
            "IPPrefixLen": 0, "IPv6Gateway": "", "Links": None, "MacAddress": "", "NetworkID": ""}


def base_body() -> dict[str, Any]:
    """What the CLI sends for a bare `docker create IMAGE` (captured from CLI 28.2 at API 1.41)."""
    host_config = {
        "AutoRemove": False, "Binds": None, "BlkioDeviceReadBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteBps": [], "BlkioDeviceWriteIOps": [], "BlkioWeight": 0, "BlkioWeightDevice": [],
        "CapAdd": None, "CapDrop": None, "Cgroup": "", "CgroupParent": "", "CgroupnsMode": "", "ConsoleSize": [0, 0],
        "ContainerIDFile": "", "CpuCount": 0, "CpuPercent": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0, "CpuShares": 0, "CpusetCpus": "", "CpusetMems": "", "DeviceCgroupRules": None,
        "DeviceRequests": None, "Devices": [], "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "GroupAdd": None, "IOMaximumBandwidth": 0, "IOMaximumIOps": 0, "IpcMode": "", "Isolation": "", "Links": None,
        "LogConfig": {"Config": {}, "Type": ""}, "MaskedPaths": None, "Memory": 0, "MemoryReservation": 0,
        "MemorySwap": 0, "MemorySwappiness": -1, "NanoCpus": 0, "NetworkMode": "default", "OomKillDisable": False,
        "OomScoreAdj": 0, "PidMode": "", "PidsLimit": 0, "PortBindings": {}, "Privileged": False,
        "PublishAllPorts": False, "ReadonlyPaths": None, "ReadonlyRootfs": False,
        "RestartPolicy": {"MaximumRetryCount": 0, "Name": "no"}, "SecurityOpt": None, "ShmSize": 0, "UTSMode": "",
        "Ulimits": [], "UsernsMode": "", "VolumeDriver": "", "VolumesFrom": None,
    }
    return {
        "AttachStderr": True, "AttachStdin": False, "AttachStdout": True, "Cmd": None, "Domainname": "",
        "Entrypoint": None, "Env": None, "HostConfig": host_config, "Hostname": "", "Image": "", "Labels": {},
        "NetworkingConfig": {"EndpointsConfig": {"default": empty_endpoint()}}, "OnBuild": None, "OpenStdin": False,
        "StdinOnce": False, "Tty": False, "User": "", "Volumes": {}, "WorkingDir": "",
    }


def apply_flags(body: dict[str, Any], args: RunArgs, storage: Storage, ports: Ports) -> None:
    for step in (_interaction, _identity, _resources, _restart, _security, _logging, _healthcheck):
        step(body, args)
    _networking(body, args, ports)
    _storage(body, args, storage)


def _parsed(args: RunArgs, name: str, parse: Callable[[str], Any]) -> Any:
    """Parse one value flag (the last occurrence), worded like the CLI on bad input."""
    value = args.last(name)
    return None if value is None else _parse_value(name, value, parse)


def _parse_value(name: str, value: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(value)
    except ValueError as error:
        short = next((f"-{letter}, " for letter, long in SHORT.items() if long == name), "")
        raise DockerCommandError(f'invalid argument "{value}" for "{short}--{name}" flag: {error}') from None


def _interaction(body: dict[str, Any], args: RunArgs) -> None:
    detach, interactive = args.on("detach"), args.on("interactive")
    body["AttachStdin"] = interactive and not detach
    body["AttachStdout"] = body["AttachStderr"] = not detach
    body["OpenStdin"] = interactive
    body["StdinOnce"] = interactive and not detach
    body["Tty"] = args.on("tty")
    if args.on("rm"):
        body["HostConfig"]["AutoRemove"] = True


def _identity(body: dict[str, Any], args: RunArgs) -> None:
    body["Hostname"] = args.last("hostname", "")
    body["User"] = args.last("user", "")
    body["WorkingDir"] = args.last("workdir", "")
    if args.given("entrypoint"):
        body["Entrypoint"] = [args.last("entrypoint")]
    for label in args.all("label"):
        key, _, value = label.partition("=")
        if not key.strip():
            raise DockerCommandError(f"invalid argument \"{label}\" for \"-l, --label\" flag: invalid label "
                                     f"'{label}': empty name")
        body["Labels"][key] = value
    if args.given("stop-signal"):
        body["StopSignal"] = args.last("stop-signal")
    if args.given("stop-timeout"):
        body["StopTimeout"] = _parsed(args, "stop-timeout", values.integer)


def _resources(body: dict[str, Any], args: RunArgs) -> None:
    host = body["HostConfig"]
    for flag, key, parse in (("memory", "Memory", values.ram_in_bytes),
                             ("memory-swap", "MemorySwap", values.swap_bytes),
                             ("memory-reservation", "MemoryReservation", values.ram_in_bytes),
                             ("cpus", "NanoCpus", values.nano_cpus), ("cpu-shares", "CpuShares", values.integer),
                             ("shm-size", "ShmSize", values.ram_in_bytes), ("pids-limit", "PidsLimit", values.integer)):
        parsed = _parsed(args, flag, parse)
        if parsed is not None:
            host[key] = parsed
    host["CpusetCpus"] = args.last("cpuset-cpus", "")
    host["Ulimits"] = [_parse_value("ulimit", spec, values.ulimit) for spec in args.all("ulimit")]
    host["Devices"] = [_parse_value("device", spec, values.device) for spec in args.all("device")]


def _restart(body: dict[str, Any], args: RunArgs) -> None:
    policy = _parsed(args, "restart", values.restart_policy)
    if policy is None:
        return
    if args.on("rm") and policy["Name"] != "no":
        raise DockerCommandError("conflicting options: cannot specify both --restart and --rm")
    body["HostConfig"]["RestartPolicy"] = policy


def _security(body: dict[str, Any], args: RunArgs) -> None:
    host = body["HostConfig"]
    host["CapAdd"] = _capabilities(args.all("cap-add"))
    host["CapDrop"] = _capabilities(args.all("cap-drop"))
    host["Privileged"] = args.on("privileged")
    host["ReadonlyRootfs"] = args.on("read-only")
    if args.on("init"):
        host["Init"] = True
    for option in args.all("security-opt"):
        key, has_value, value = option.partition("=")
        if not has_value and option != "no-new-privileges":
            raise NotTranslatable(f"--security-opt {option!r} (only key=value forms are translated)")
        if (key == "seccomp" and value not in ("unconfined", "builtin")) or key == "systempaths":
            raise NotTranslatable(f"--security-opt {key}=... needs the CLI (it reads or rewrites the option)")
    host["SecurityOpt"] = args.all("security-opt") or None
    sysctls = {}
    for spec in args.all("sysctl"):
        name, has_value, value = spec.partition("=")
        if not has_value or not (name in _SYSCTL_NAMES or name.startswith(_SYSCTL_PREFIXES)):
            raise DockerCommandError(f'invalid argument "{spec}" for "--sysctl" flag: sysctl \'{spec}\' is not '
                                     "allowed")
        sysctls[name] = value
    if sysctls:
        host["Sysctls"] = sysctls
    host["GroupAdd"] = args.all("group-add") or None
    host["ExtraHosts"] = [_parse_value("add-host", spec, values.extra_host) for spec in args.all("add-host")] or None
    host["Dns"] = list(args.all("dns"))
    host["DnsSearch"] = list(args.all("dns-search"))


def _capabilities(names: list[str]) -> list[str] | None:
    normalized: list[str] = []
    for name in names:
        capability = values.capability(name)
        if capability not in normalized:
            normalized.append(capability)
    return normalized or None


def _logging(body: dict[str, Any], args: RunArgs) -> None:
    driver = args.last("log-driver", "")
    options = {}
    for option in args.all("log-opt"):
        key, _, value = option.partition("=")
        options[key] = value
    if driver == "none" and options:
        raise DockerCommandError("invalid logging opts for driver none")
    body["HostConfig"]["LogConfig"] = {"Config": options, "Type": driver}


def _healthcheck(body: dict[str, Any], args: RunArgs) -> None:
    durations = {"Interval": "health-interval", "Timeout": "health-timeout", "StartPeriod": "health-start-period"}
    command = args.last("health-cmd", "")
    retries = _parsed(args, "health-retries", values.integer) or 0
    settings = {key: _parsed(args, flag, values.duration_ns) or 0 for key, flag in durations.items()}
    configured = bool(command) or retries != 0 or any(settings.values())
    if args.on("no-healthcheck"):
        if configured:
            raise DockerCommandError("--no-healthcheck conflicts with --health-* options")
        body["Healthcheck"] = {"Test": ["NONE"]}
        return
    if not configured:
        return
    for key, value in settings.items():
        if value < 0:
            raise DockerCommandError(f"{durations[key]} cannot be negative")
    if retries < 0:
        raise DockerCommandError("--health-retries cannot be negative")
    check: dict[str, Any] = {key: value for key, value in settings.items() if value}
    if command:
        check["Test"] = ["CMD-SHELL", command]
    if retries:
        check["Retries"] = retries
    body["Healthcheck"] = check


def _networking(body: dict[str, Any], args: RunArgs, ports: Ports) -> None:
    host = body["HostConfig"]
    networks, aliases = args.all("network"), args.all("network-alias")
    if len(set(networks)) > 1:
        raise NotTranslatable("several --network flags (API 1.41 attaches one network at create)")
    if networks:
        network = networks[0]
        if aliases and network in _BUILTIN_NETWORKS:
            raise DockerCommandError("network-scoped aliases are only supported for user-defined networks")
        host["NetworkMode"] = network
        endpoints = {}
        if aliases:
            endpoints[network] = empty_endpoint() | {"Aliases": list(aliases)}
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    elif aliases:
        raise DockerCommandError("network-scoped aliases are only supported for user-defined networks")
    for spec in args.all("publish"):
        _parse_value("publish", spec, ports.publish)
    for spec in args.all("expose"):
        _parse_value("expose", spec, ports.expose)
    if ports.exposed:
        body["ExposedPorts"] = ports.exposed
    host["PortBindings"] = ports.bindings
    host["PublishAllPorts"] = args.on("publish-all")


def _storage(body: dict[str, Any], args: RunArgs, storage: Storage) -> None:
    host = body["HostConfig"]
    for spec in args.all("volume"):
        _parse_value("volume", spec, storage.volume)
    for spec in args.all("mount"):
        _parse_value("mount", spec, storage.mount)
    for spec in args.all("tmpfs"):
        storage.tmpfs_mount(spec)
    host["Binds"] = storage.binds or None
    body["Volumes"] = storage.volumes
    if storage.mounts:
        host["Mounts"] = storage.mounts
    if storage.tmpfs:
        host["Tmpfs"] = storage.tmpfs
