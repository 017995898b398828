"""The few Ruby/ActiveSupport value rules that Kamal's behaviour depends on."""

from __future__ import annotations

import datetime
import math


def truthy(value: object) -> bool:
    """Ruby truthiness: only nil and false are false (`""`, `0` and `{}` are true)."""
    return value is not None and value is not False


def blank(value: object) -> bool:
    """ActiveSupport's `blank?`: nil, false, whitespace-only strings and empty collections."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, dict | list | tuple | set):
        return len(value) == 0
    return False


def present(value: object) -> bool:
    return not blank(value)


def to_s(value: object) -> str:
    """Ruby's `to_s` for the values YAML can produce."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if math.isnan(value):
            return "NaN"
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %z")
    return str(value)


def is_string_like(value: object) -> bool:
    """Kamal's `stringish?`: String, Symbol, Numeric, true or false."""
    return isinstance(value, str | int | float | bool)
