"""`--volume`, `--mount` and `--tmpfs` → Binds, Volumes, Mounts and Tmpfs, as the docker CLI builds them."""

from __future__ import annotations

import csv
import posixpath
from dataclasses import dataclass, field

from app.remote.docker_errors import NotTranslatable
from app.remote.docker_values import ram_in_bytes

_MOUNT_TYPES = ("bind", "volume", "tmpfs")
_TRUE = ("1", "t", "true")
_FALSE = ("0", "f", "false")


@dataclass
class Storage:
    home: str
    binds: list[str] = field(default_factory=list)
    volumes: dict[str, dict] = field(default_factory=dict)
    mounts: list[dict] = field(default_factory=list)
    tmpfs: dict[str, str] = field(default_factory=dict)

    def volume(self, spec: str) -> None:
        """`-v [source:]target[:options]`. A relative source (`./data`) is made absolute from the
        working directory, as the CLI does; Kamal's commands run in the SSH user's home."""
        parts = spec.split(":")
        if len(parts) > 3 or not all(parts[:2]):
            raise ValueError(f"invalid spec: {spec}: " + ("too many colons" if len(parts) > 3 else "empty section"))
        if len(parts) == 1:
            self.volumes.setdefault(parts[0], {})
            return
        source, rest = parts[0], spec[len(parts[0]):]
        if source.startswith("."):
            source = posixpath.normpath(posixpath.join(self.home, source))
        bind = source + rest
        if bind not in self.binds:  # the CLI keeps the binds in a set
            self.binds.append(bind)

    def tmpfs_mount(self, spec: str) -> None:
        path, _, options = spec.partition(":")
        self.tmpfs[path] = options

    def mount(self, spec: str) -> None:
        self.mounts.append(parse_mount(spec))


def parse_mount(spec: str) -> dict:
    """The `--mount` CSV syntax for bind, volume and tmpfs mounts (the common keys)."""
    mount: dict = {"Type": "volume"}
    fields = next(csv.reader([spec]))
    for item in fields:
        key, has_value, value = item.partition("=")
        key = key.strip().lower()
        if not has_value and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise ValueError(f"invalid field '{item}' must be a key=value pair")
        _apply_mount_field(mount, key, value if has_value else "true", item)
    if mount["Type"] not in _MOUNT_TYPES:
        raise NotTranslatable(f"--mount type={mount['Type']}")
    if not mount.get("Target"):
        raise ValueError("target is required")
    return mount


def _apply_mount_field(mount: dict, key: str, value: str, item: str) -> None:
    if key == "type":
        mount["Type"] = value.lower()
    elif key in ("source", "src"):
        mount["Source"] = value
    elif key in ("target", "dst", "destination"):
        mount["Target"] = value
    elif key in ("readonly", "ro"):
        if _bool(value, item):
            mount["ReadOnly"] = True
    elif key == "consistency":
        mount["Consistency"] = value
    elif key == "bind-propagation":
        mount.setdefault("BindOptions", {})["Propagation"] = value.lower()
    elif key == "volume-nocopy":
        if _bool(value, item):
            _volume_options(mount)["NoCopy"] = True
    elif key == "volume-label":
        label, _, label_value = value.partition("=")
        _volume_options(mount).setdefault("Labels", {})[label] = label_value
    elif key == "volume-driver":
        _volume_options(mount)["DriverConfig"]["Name"] = value
    elif key == "volume-opt":
        option, _, option_value = value.partition("=")
        _volume_options(mount)["DriverConfig"].setdefault("Options", {})[option] = option_value
    elif key == "tmpfs-size":
        mount.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_in_bytes(value)
    elif key == "tmpfs-mode":
        mount.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
    else:
        raise NotTranslatable(f"--mount field {key!r}")


def _volume_options(mount: dict) -> dict:
    options = mount.setdefault("VolumeOptions", {})
    options.setdefault("DriverConfig", {})
    return options


def _bool(value: str, item: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"invalid value for {item.partition('=')[0]}: {value}")
