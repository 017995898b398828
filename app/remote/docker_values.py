"""Value parsers of the docker CLI's `run` flags (sizes, durations, CPUs, ports, ulimits, devices...).

Each returns what the CLI puts in the create body, or raises ValueError with the CLI's wording.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation

_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_BINARY = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                   "h": 3600 * 10**9}
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                "rtprio", "rttime", "sigpending", "stack")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")


def ram_in_bytes(text: str) -> int:
    """go-units `RAMInBytes`: `512m`, `2GB`, `1.5g` → bytes, with binary (1024) multipliers."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"invalid size: '{text}'")
    return int(Decimal(match.group(1)) * _BINARY[(match.group(2) or "").lower()])


def swap_bytes(text: str) -> int:
    """`--memory-swap`: a size, or -1 for unlimited swap."""
    return -1 if text == "-1" else ram_in_bytes(text)


def duration_ns(text: str) -> int:
    """Go's `time.ParseDuration` (`1h30m`, `5s`, `250ms`), in nanoseconds."""
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    if body == "0":
        return 0
    position, total = 0, Decimal(0)
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += Decimal(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * int(total)


def nano_cpus(text: str) -> int:
    """`--cpus 1.5` → 1500000000; the CLI refuses more precision than a nanoCPU."""
    try:
        value = Decimal(text) * 10**9
    except InvalidOperation:
        raise ValueError(f"failed to parse {text} as a rational number") from None
    if value != value.to_integral_value():
        raise ValueError("value is too precise")
    return int(value)


def integer(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def restart_policy(text: str) -> dict[str, object]:
    """`unless-stopped`, `always`, `no`, `on-failure[:N]` → the RestartPolicy object."""
    name, _, count = text.partition(":")
    if name not in RESTART_POLICIES or (count and name != "on-failure"):
        raise ValueError(f"invalid restart policy format: {text}" if count else f"invalid restart policy: {text}")
    return {"MaximumRetryCount": integer(count) if count else 0, "Name": name}


def ulimit(text: str) -> dict[str, object]:
    """`nofile=1024[:2048]` → {"Name","Soft","Hard"} (hard defaults to soft)."""
    name, separator, limits = text.partition("=")
    if not separator:
        raise ValueError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise ValueError(f"invalid ulimit type: {name}")
    soft, _, hard = limits.partition(":")
    soft_value = integer(soft)
    hard_value = integer(hard) if hard else soft_value
    if soft_value > hard_value:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft_value} > {hard_value}")
    return {"Hard": hard_value, "Name": name, "Soft": soft_value}


def device(text: str) -> dict[str, str]:
    """`/dev/x[:/dev/y][:rwm]` → a device mapping (permissions default to rwm, path in container to the host's)."""
    parts = text.split(":")
    host, container, permissions = parts[0], parts[0], "rwm"
    if len(parts) == 2:
        if _is_device_mode(parts[1]):
            permissions = parts[1]
        else:
            container = parts[1]
    elif len(parts) == 3:
        container, permissions = parts[1], parts[2]
        if not _is_device_mode(permissions):
            raise ValueError(f"bad mode specified: {permissions}")
    elif len(parts) > 3:
        raise ValueError(f"invalid device specification: {text}")
    if not host.startswith("/"):
        raise ValueError(f"invalid device specification: {text}")
    return {"CgroupPermissions": permissions, "PathInContainer": container, "PathOnHost": host}


def _is_device_mode(mode: str) -> bool:
    return bool(mode) and len(mode) <= 3 and all(char in "rwm" for char in mode) and len(set(mode)) == len(mode)


def capability(name: str) -> str:
    """The CLI upper-cases capability names and adds `CAP_` (except for `ALL`)."""
    name = name.strip().upper()
    return name if name == "ALL" or name.startswith("CAP_") else "CAP_" + name


def extra_host(text: str) -> str:
    """`--add-host name:ip` or `name=ip` → `name:ip` (the form the engine stores)."""
    if "=" in text:
        name, _, address = text.partition("=")
    else:
        name, _, address = text.partition(":")
    if not name or not address:
        raise ValueError(f"bad format for add-host: {text!r}")
    bare = address[1:-1] if address.startswith("[") and address.endswith("]") else address
    if bare != "host-gateway":
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            raise ValueError(f"invalid IP address in add-host: {address!r}") from None
    return f"{name}:{bare}"
