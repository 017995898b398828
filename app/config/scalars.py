"""Plain YAML scalars as Psych 5.3 (Kamal 2.11's YAML library) turns them into Ruby values.

`tokenize` follows Psych's `ScalarScanner#tokenize` rule for rule: `yes`/`on` are booleans in any
case, `1,000` and `0x_1F` are integers, `0x_`, `0,` and `1e5` stay strings, `1:20` is 4800 (Psych's
base-60 weights), `:name` is a Symbol, `2024-02-30` stays a string. `ruby_float` is Ruby's `Float()`
for the `!!float` tag. Ruby values map to Python as: nil → None, Symbol → `Symbol`, Integer → int,
Float → float, Date → date, Time → aware datetime.
"""

from __future__ import annotations

import datetime
import math
import re


class Symbol(str):
    """A Ruby Symbol (`:verbose`). Like Ruby, a Symbol never equals the String with the same text:
    `{:arch => "amd64"}` has no key `"arch"`. `str(symbol)` is its text without the colon."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is Symbol and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return str.__hash__(self) ^ 0x5F3759DF

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


class RubyConversionError(ValueError):
    """What Ruby raises converting a value (`Float("abc")`); Kamal stops with this message."""


# Psych's "surely a string" test: `^[^\d.:-]?[[:alpha:]_\s!@#$%\^&*(){}<>|/\\~;=]+` (or a newline).
_WORDISH = re.compile(r"[^0-9.:\-]?(?:[^\W\d_]|[_ \t\r\n\f\v!@#$%^&*(){}<>|/\\~;=])")
_NOT_YTONF = re.compile(r"^[^ytonf~]", re.IGNORECASE | re.MULTILINE)
_NULL = re.compile(r"^null$", re.IGNORECASE | re.MULTILINE)
_TRUE = re.compile(r"^(?:yes|true|on)$", re.IGNORECASE | re.MULTILINE)
_FALSE = re.compile(r"^(?:no|false|off)$", re.IGNORECASE | re.MULTILINE)
_TIME = re.compile(
    r"-?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t\r\n\f\v]+)[0-9]{1,2}:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
    r"(?:[ \t\r\n\f\v]*(?:Z|[-+][0-9]{1,2}:?(?:[0-9][0-9])?))?\Z"
)
_DATE = re.compile(r"[0-9]{4}-(?:1[012]|0[0-9]|[0-9])-(?:[12][0-9]|3[01]|0[0-9]|[0-9])\Z")
_POSITIVE_INF = re.compile(r"\+?\.inf\Z", re.IGNORECASE)
_NEGATIVE_INF = re.compile(r"-\.inf\Z", re.IGNORECASE)
_NAN = re.compile(r"\.nan\Z", re.IGNORECASE)
_QUOTED_SYMBOL = re.compile(r"""^:(["'])(.*)\1""", re.DOTALL)
_BASE60_INT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\Z")
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\.[0-9_]*\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?\Z")
_LONE_DOT = re.compile(r"[-+]?\.\Z")
_INTEGER = re.compile(
    r"(?:[-+]?0b[_,]*[0-1][0-1_,]*"
    r"|[-+]?0[_,]*[0-7][0-7_,]*"
    r"|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)"
    r"|[-+]?0x[_,]*[0-9a-fA-F][0-9a-fA-F_,]*)\Z"
)
_DOT_BEFORE_EXPONENT = re.compile(r"\.([Ee]|$)")


def tokenize(text: str) -> object:
    """The Ruby value of an untagged plain scalar (Psych's `ScalarScanner#tokenize`)."""
    if not text:
        return None
    if "\n" in text or _WORDISH.match(text):
        if len(text) > 5 or _NOT_YTONF.search(text):
            return text
        if text == "~" or _NULL.search(text):
            return None
        if _TRUE.search(text):
            return True
        if _FALSE.search(text):
            return False
        return text
    if _TIME.match(text):
        return _time(text) or text
    if _DATE.match(text):
        return _date(text) or text
    if _POSITIVE_INF.match(text):
        return math.inf
    if _NEGATIVE_INF.match(text):
        return -math.inf
    if _NAN.match(text):
        return math.nan
    if len(text) > 1 and text[0] == ":":
        quoted = _QUOTED_SYMBOL.match(text)
        return Symbol(quoted.group(2).removeprefix(":") if quoted else text[1:])
    if _BASE60_INT.match(text):
        return sum(ruby_to_i(part) * 60 ** abs(index - 2) for index, part in enumerate(text.split(":")))
    if _BASE60_FLOAT.match(text):
        return float(sum(ruby_to_f(part) * 60 ** abs(index - 2) for index, part in enumerate(text.split(":"))))
    if _FLOAT.match(text):
        if _LONE_DOT.match(text):
            return text
        return ruby_float(_DOT_BEFORE_EXPONENT.sub(r"\1", text.replace(",", "").replace("_", ""), count=0))
    if _INTEGER.match(text):
        return ruby_integer(text.replace(",", "").replace("_", ""))
    return text


def ruby_integer(text: str) -> int:
    """Ruby's `Integer()` on what Psych's integer pattern accepts (`0b`, `0x`, leading-0 octal)."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0x", "0X")):
        return sign * int(digits[2:], 16)
    if digits.startswith(("0b", "0B")):
        return sign * int(digits[2:], 2)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits[1:], 8)
    return sign * int(digits)


_TO_I = re.compile(r"[ \t\n\v\f\r]*([-+]?[0-9]+(?:_[0-9]+)*)")
_TO_F = re.compile(r"[ \t\n\v\f\r]*([-+]?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?)")


def ruby_to_i(text: str) -> int:
    """Ruby's lenient `String#to_i`: the leading integer, `_` allowed between digits, else 0."""
    match = _TO_I.match(text)
    return int(match.group(1).replace("_", "")) if match else 0


def ruby_to_f(text: str) -> float:
    """Ruby's lenient `String#to_f`: the leading decimal number, else 0.0."""
    match = _TO_F.match(text)
    return _float(match.group(1).replace("_", "")) if match else 0.0


_FLOAT_LITERAL = re.compile(
    r"[ \t\n\v\f\r]*[-+]?(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?|\.[0-9]+(?:_[0-9]+)*)"
    r"(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?[ \t\n\v\f\r]*\Z"
)
_HEX_LITERAL = re.compile(r"[ \t\n\v\f\r]*([-+]?)0[xX]([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)[ \t\n\v\f\r]*\Z")


def _float(text: str) -> float:
    try:
        return float(text)
    except OverflowError:
        return math.inf if not text.lstrip().startswith("-") else -math.inf


def ruby_float(value: object) -> float:
    """Ruby's strict `Float(value)`; raises `RubyConversionError` with Ruby's message."""
    if isinstance(value, bool) or value is None:
        raise RubyConversionError(f"can't convert {ruby_inspect_constant(value)} into Float")
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, Symbol):
        raise RubyConversionError("can't convert Symbol into Float")
    if isinstance(value, str):
        if _FLOAT_LITERAL.match(value):
            return _float(value.replace("_", "").strip())
        hexadecimal = _HEX_LITERAL.match(value)
        if hexadecimal:
            number = int(hexadecimal.group(2).replace("_", ""), 16)
            return ruby_float(-number if hexadecimal.group(1) == "-" else number)
        raise RubyConversionError(f"invalid value for Float(): {_inspect(value)}")
    raise RubyConversionError(f"can't convert {ruby_class_name(value)} into Float")


def ruby_inspect_constant(value: object) -> str:
    return {None: "nil", True: "true", False: "false"}[value]  # type: ignore[index]


def ruby_class_name(value: object) -> str:
    """The Ruby class a loaded YAML value has, for messages."""
    if value is None:
        return "NilClass"
    if value is True:
        return "TrueClass"
    if value is False:
        return "FalseClass"
    if isinstance(value, Symbol):
        return "Symbol"
    if isinstance(value, str):
        return "String"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, datetime.datetime):
        return "Time"
    if isinstance(value, datetime.date):
        return "Date"
    if isinstance(value, dict):
        return "Hash"
    if isinstance(value, list | tuple):
        return "Array"
    return type(value).__name__


def _inspect(text: str) -> str:
    from app.rubyish import inspect

    return inspect(text)


def _date(text: str) -> datetime.date | None:
    year, month, day = (int(part) for part in text.split("-"))
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


_TIME_PARTS = re.compile(
    r"(-?[0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|\s+)([0-9]+):([0-9]+):([0-9]+)(?:\.([0-9]*))?\s*"
    r"(Z|[-+][0-9]{1,2}(?::?[0-9]{1,2})?)?\Z"
)


class FixedOffset(datetime.tzinfo):
    """A Ruby Time's explicit UTC offset (`+00:00` included, which Ruby keeps apart from UTC)."""

    def __init__(self, offset: datetime.timedelta) -> None:
        self.offset = offset

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return self.offset

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta | None:
        return None

    def tzname(self, dt: datetime.datetime | None) -> str | None:
        return None

    def __repr__(self) -> str:
        return f"FixedOffset({self.offset!r})"


def _time(text: str) -> datetime.datetime | None:
    """Psych's parse_time: a Time in UTC (`Z`), at its offset, or local (naive), or None where Ruby raises."""
    match = _TIME_PARTS.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "")[:6].ljust(6, "0"))
    tz: datetime.tzinfo | None = None
    if zone == "Z":
        tz = datetime.UTC
    elif zone:
        sign = -1 if zone.startswith("-") else 1
        hours, _, minutes = zone[1:].partition(":")
        if not minutes and len(hours) > 2:
            hours, minutes = hours[:-2], hours[-2:]
        tz = FixedOffset(sign * datetime.timedelta(hours=int(hours), minutes=int(minutes or 0)))
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                                   datetime.UTC)
    except ValueError:
        return None
    if tz is None:
        return moment.astimezone().replace(tzinfo=None)
    return moment.replace(tzinfo=tz)  # the written wall-clock time, at the written offset
