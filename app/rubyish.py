"""The Ruby/ActiveSupport value rules that Kamal's behaviour depends on, in one place.

Truthiness, `blank?`/`present?`, `to_s`, and the escaping of `String#dump` and `String#inspect`.
A leaf module (no imports from `app`) so that config, secrets and the Kamal contract can all use it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping


def truthy(value: object) -> bool:
    """Ruby truthiness: only nil and false are false (`""`, `0` and `{}` are true)."""
    return value is not None and value is not False


def blank(value: object) -> bool:
    """ActiveSupport's `blank?`: nil, false, whitespace-only strings and empty collections."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, dict | list | tuple | set | Mapping):
        return len(value) == 0
    return False


def present(value: object) -> bool:
    return not blank(value)


def to_s(value: object) -> str:
    """Ruby's `to_s` for the values YAML (and ERB) can produce."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return float_to_s(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.astimezone()  # a Ruby Time in the local zone
        elif value.tzinfo is datetime.UTC:
            return value.strftime("%Y-%m-%d %H:%M:%S UTC")
        return value.strftime("%Y-%m-%d %H:%M:%S %z")
    return str(value)


def float_to_s(value: float) -> str:
    """Ruby's `Float#to_s`: the shortest repr, with `.0` in the mantissa (`5.0e-05`, `1.0e+16`, `1.0`).

    Ruby switches to exponent notation where Python's repr does (below 1e-4, from 1e16), so only the
    mantissa differs: Python writes `5e-05` and `1e+16`."""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    mantissa, exponent, power = text.partition("e")
    if exponent and "." not in mantissa:
        return f"{mantissa}.0e{power}"
    return text


def is_string_like(value: object) -> bool:
    """Kamal's `stringish?`: String, Symbol, Numeric, true or false."""
    return isinstance(value, str | int | float | bool)


# ---------------------------------------------------------------- String#dump and String#inspect

_LETTER_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v", "\b": "\\b",
                   "\a": "\\a", "\x1b": "\\e", '"': '\\"', "\\": "\\\\"}


def _quoted(text: str, other: Callable[[str], str]) -> str:
    """What `dump` and `inspect` share: double quotes, Ruby's letter escapes, and `\\#` before `{`, `$` or
    `@` (which would interpolate); `other` renders every remaining character."""
    out = ['"']
    for index, char in enumerate(text):
        if char in _LETTER_ESCAPES:
            out.append(_LETTER_ESCAPES[char])
        elif char == "#" and text[index + 1:index + 2] in ("$", "@", "{"):
            out.append("\\#")
        else:
            out.append(other(char))
    out.append('"')
    return "".join(out)


def _dump_char(char: str) -> str:
    if " " <= char <= "~":
        return char
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02X}"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\u{{{code:X}}}"


def _inspect_char(char: str) -> str:
    return f"\\x{ord(char):02X}" if ord(char) < 0x20 or ord(char) == 0x7F else char


def dump(text: str) -> str:
    """Ruby's `String#dump`: pure ASCII out, every other byte or character escaped (`\\x01`, `\\u00E9`).

    Kamal escapes shell values and env files with it (on ASCII runs only).
    """
    return _quoted(text, _dump_char)


def inspect(text: str) -> str:
    """Ruby's `String#inspect`, for messages: unlike `dump`, non-ASCII text is kept as it is.

    Control characters are shown as `\\xHH`; Ruby writes `\\u0001` for them in a UTF-8 string.
    """
    return _quoted(text, _inspect_char)
