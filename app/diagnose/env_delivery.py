"""What an app or accessory container actually receives for a secret, and how that differs from the secret.

Kamal writes secrets into env files escaped Ruby-`dump`-style (`app.contract.env_file_content`), and
Docker's `--env-file` reads each `KEY=value` line literally: no quotes, no unescaping. So a backslash
arrives doubled, a newline as the two characters `\\n`, a tab as `\\t`, other control characters as
`\\xHH`. Non-ASCII text passes unchanged. (Kamal issues #1412 and #1467; PR #1728 would write values
verbatim, in Kamal 3.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app import contract

_PROBE_KEY = "V"


def docker_env_file_values(content: str) -> dict[str, str]:
    """Docker's reading of an env file: per line (LF, optional CR before it), leading whitespace dropped,
    blank and `#` lines skipped, the value after the first `=` kept verbatim. Lines without `=` name a
    variable to copy from the client's environment; they are left out here."""
    values: dict[str, str] = {}
    for line in content.split("\n"):
        line = line.removesuffix("\r").lstrip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.lstrip()] = value
    return values


def received_value(value: str) -> str:
    """The value a container sees for `value` delivered through Kamal's env file."""
    return docker_env_file_values(contract.env_file_content({_PROBE_KEY: value}))[_PROBE_KEY]


@dataclass(frozen=True)
class Change:
    """How one kind of character is changed on the way (never the value itself)."""

    character: str  # a readable name: "backslash", "newline", "control character U+0001"
    count: int
    arrives_as: str  # e.g. "\\\\" (two backslashes), "\\n" (backslash + n)


@dataclass(frozen=True)
class Delivery:
    """The secret's length before and after, and what changes (empty when it arrives unchanged)."""

    sent_length: int
    received_length: int
    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


_NAMES = {"\\": "backslash", "\n": "newline", "\r": "carriage return", "\t": "tab", "\f": "form feed",
          "\v": "vertical tab", "\b": "backspace", "\a": "bell", "\x1b": "escape", "\x7f": "delete"}


def _name(char: str) -> str:
    return _NAMES.get(char) or f"control character U+{ord(char):04X}"


def delivery(value: str) -> Delivery:
    """Compare `value` with what the container receives, character by character."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for char in value:
        arrives = received_value(char)
        if arrives != char:
            counts[char] += 1
            shown[char] = arrives
    changes = tuple(Change(_name(char), counts[char], shown[char]) for char in counts)
    return Delivery(len(value), len(received_value(value)), changes)
