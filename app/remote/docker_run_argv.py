"""Parse the words after `docker run` the way the docker CLI's flag parser (spf13/pflag) does.

Flags stop at the image: everything after it is the container's command. Only the flags listed
here are translated; any other flag, including real docker flags we chose not to support, makes the
command `NotTranslatable` so that it runs through the real CLI over SSH.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from app.remote.docker_errors import DockerCommandError, NotTranslatable


class Kind(Enum):
    BOOL = "bool"
    VALUE = "value"  # the last occurrence wins
    LIST = "list"  # repeatable, in order


# canonical long name → (short letter, kind)
FLAGS: dict[str, tuple[str | None, Kind]] = {
    "add-host": (None, Kind.LIST), "cap-add": (None, Kind.LIST), "cap-drop": (None, Kind.LIST),
    "cpu-shares": ("c", Kind.VALUE), "cpus": (None, Kind.VALUE), "cpuset-cpus": (None, Kind.VALUE),
    "detach": ("d", Kind.BOOL), "device": (None, Kind.LIST), "dns": (None, Kind.LIST),
    "dns-search": (None, Kind.LIST), "entrypoint": (None, Kind.VALUE), "env": ("e", Kind.LIST),
    "env-file": (None, Kind.LIST), "expose": (None, Kind.LIST), "group-add": (None, Kind.LIST),
    "health-cmd": (None, Kind.VALUE), "health-interval": (None, Kind.VALUE), "health-retries": (None, Kind.VALUE),
    "health-start-period": (None, Kind.VALUE), "health-timeout": (None, Kind.VALUE),
    "hostname": ("h", Kind.VALUE), "init": (None, Kind.BOOL), "interactive": ("i", Kind.BOOL),
    "label": ("l", Kind.LIST), "log-driver": (None, Kind.VALUE), "log-opt": (None, Kind.LIST),
    "memory": ("m", Kind.VALUE), "memory-reservation": (None, Kind.VALUE), "memory-swap": (None, Kind.VALUE),
    "mount": (None, Kind.LIST), "name": (None, Kind.VALUE), "network": (None, Kind.LIST),
    "network-alias": (None, Kind.LIST), "no-healthcheck": (None, Kind.BOOL), "pids-limit": (None, Kind.VALUE),
    "platform": (None, Kind.VALUE), "privileged": (None, Kind.BOOL), "publish": ("p", Kind.LIST),
    "publish-all": ("P", Kind.BOOL), "pull": (None, Kind.VALUE), "read-only": (None, Kind.BOOL),
    "restart": (None, Kind.VALUE), "rm": (None, Kind.BOOL), "security-opt": (None, Kind.LIST),
    "shm-size": (None, Kind.VALUE), "stop-signal": (None, Kind.VALUE), "stop-timeout": (None, Kind.VALUE),
    "sysctl": (None, Kind.LIST), "tmpfs": (None, Kind.LIST), "tty": ("t", Kind.BOOL), "ulimit": (None, Kind.LIST),
    "user": ("u", Kind.VALUE), "volume": ("v", Kind.LIST), "workdir": ("w", Kind.VALUE),
}
ALIASES = {"net": "network", "net-alias": "network-alias"}
SHORT = {short: name for name, (short, _) in FLAGS.items() if short}
# Real `docker run` flags that are deliberately left to the CLI (they need the client or a newer API).
UNSUPPORTED = {"gpus": "GPU device requests", "cidfile": "a container-id file on the client",
               "attach": "explicit stream attachment", "a": "explicit stream attachment",
               "label-file": "a label file on the server", "quiet": "", "q": "", "sig-proxy": "",
               "detach-keys": "", "disable-content-trust": ""}
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


@dataclass
class RunArgs:
    """`docker run` flags (canonical long names → values), the image and the command."""

    values: dict[str, list[str]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    image: str = ""
    command: list[str] = field(default_factory=list)

    def last(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found[-1] if found else default

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def on(self, name: str) -> bool:
        return name in self.flags

    def given(self, name: str) -> bool:
        return name in self.values or name in self.flags


def parse_run_argv(words: list[str]) -> RunArgs:
    """`words` are what follows `docker run`."""
    parsed = RunArgs()
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            index += 1
            break
        if word.startswith("--"):
            index = _long_flag(words, index, parsed)
        elif word.startswith("-") and word != "-":
            index = _short_flags(words, index, parsed)
        else:
            break
    if index >= len(words):
        raise DockerCommandError('"docker run" requires at least 1 argument.')
    parsed.image, parsed.command = words[index], words[index + 1:]
    return parsed


def _long_flag(words: list[str], index: int, parsed: RunArgs) -> int:
    name, has_value, value = words[index][2:].partition("=")
    canonical = ALIASES.get(name, name)
    if canonical not in FLAGS:
        _refuse(name)
    kind = FLAGS[canonical][1]
    if kind is Kind.BOOL:
        _set_bool(parsed, canonical, value if has_value else "true", f"--{name}")
        return index + 1
    if not has_value:
        if index + 1 >= len(words):
            raise DockerCommandError(f"flag needs an argument: --{name}")
        value, index = words[index + 1], index + 1
    parsed.values.setdefault(canonical, []).append(value)
    return index + 1


def _short_flags(words: list[str], index: int, parsed: RunArgs) -> int:
    letters = words[index][1:]
    position = 0
    while position < len(letters):
        letter = letters[position]
        canonical = SHORT.get(letter)
        if canonical is None:
            _refuse(letter)
        rest = letters[position + 1:]
        if FLAGS[canonical][1] is Kind.BOOL:
            if rest.startswith("="):
                _set_bool(parsed, canonical, rest[1:], f"-{letter}")
                return index + 1
            _set_bool(parsed, canonical, "true", f"-{letter}")
            position += 1
            continue
        if rest:
            value = rest[1:] if rest.startswith("=") else rest
        elif index + 1 < len(words):
            value, index = words[index + 1], index + 1
        else:
            raise DockerCommandError(f"flag needs an argument: '{letter}' in -{letter}")
        parsed.values.setdefault(canonical, []).append(value)
        return index + 1
    return index + 1


def _set_bool(parsed: RunArgs, name: str, value: str, shown: str) -> None:
    if value in _TRUE:
        parsed.flags.add(name)
    elif value in _FALSE:
        parsed.flags.discard(name)
    else:
        raise DockerCommandError(f'invalid argument "{value}" for "{shown}" flag: strconv.ParseBool: parsing '
                                 f'"{value}": invalid syntax')


def _refuse(name: str) -> None:
    shown = f"-{name}" if len(name) == 1 else f"--{name}"
    if name in UNSUPPORTED:
        detail = UNSUPPORTED[name]
        raise NotTranslatable(f"{shown} is left to the docker CLI" + (f" ({detail})" if detail else ""))
    raise NotTranslatable(f"unknown or untranslated docker run flag {shown}")
