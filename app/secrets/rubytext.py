"""Small string operations that behave exactly like their Ruby namesakes.

Kamal is Ruby: `.kamal/secrets` is parsed with Ruby regexes and string methods whose edge cases
(which characters are whitespace, what `chomp` removes, how `shellsplit` treats backslashes) decide
what a secret's value is. These helpers reproduce those edge cases.
"""

from __future__ import annotations

import re

# Ruby's `\s` and `String#strip` whitespace are ASCII only (plus NUL for strip), unlike Python's.
WHITESPACE = " \t\n\v\f\r"
_STRIP_CHARS = WHITESPACE + "\0"
_WHITESPACE_RUN = re.compile(r"[ \t\n\v\f\r]+")


def strip(text: str) -> str:
    """Ruby `String#strip`."""
    return text.strip(_STRIP_CHARS)


def chomp(text: str) -> str:
    """Ruby `String#chomp` without arguments: drop one trailing `\\r\\n`, `\\n` or `\\r`."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


def split_words(text: str) -> list[str]:
    """Ruby `String#split` without arguments (awk style, ASCII whitespace)."""
    return [word for word in _WHITESPACE_RUN.split(text) if word]


def is_blank(value: str | None) -> bool:
    """ActiveSupport `blank?` for strings."""
    return value is None or not value.strip(WHITESPACE)


# --- Shellwords ---------------------------------------------------------------------------------

_SHELL_TOKEN = re.compile(
    r"""[ \t\n\v\f\r]*(?:
        (?P<word>[^\0 \t\n\v\f\r\\'"]+)
      | '(?P<sq>[^\0']*)'
      | "(?P<dq>(?:[^\0"\\]|\\[^\0])*)"
      | (?P<esc>\\[^\0]?)
      | (?P<garbage>\S)
    )(?P<sep>[ \t\n\v\f\r]|\Z)?""",
    re.X | re.S,
)
_DQ_ESCAPE = re.compile(r"\\([$`\"\\\n])")
_ESCAPE = re.compile(r"\\(.)")  # no DOTALL: a backslash before a newline stays, as in Ruby


class ShellSplitError(ValueError):
    pass


def shellsplit(line: str) -> list[str]:
    """Ruby `Shellwords.shellsplit`."""
    words: list[str] = []
    field: list[str] = []
    position = 0
    while position < len(line):
        match = _SHELL_TOKEN.match(line, position)
        if match is None or match.end() == position:
            break
        if match.group("garbage") is not None:
            reason = "Nul character" if match.group("garbage") == "\0" else "Unmatched quote"
            raise ShellSplitError(f"{reason} at {match.start()}")
        if match.group("word") is not None:
            field.append(match.group("word"))
        elif match.group("sq") is not None:
            field.append(match.group("sq"))
        elif match.group("dq") is not None:
            field.append(_DQ_ESCAPE.sub(r"\1", match.group("dq")))
        else:
            field.append(_ESCAPE.sub(lambda m: m.group(1), match.group("esc")))
        if match.group("sep") is not None:
            words.append("".join(field))
            field = []
        position = match.end()
    return words


_SHELL_UNSAFE = re.compile(r"[^A-Za-z0-9_\-.,:+/@\n]")


def shellescape(text: str) -> str:
    """Ruby `Shellwords.shellescape` (`String#shellescape`)."""
    if not text:
        return "''"
    return _SHELL_UNSAFE.sub(lambda m: "\\" + m.group(0), text).replace("\n", "'\n'")


# --- Kernel#puts of parsed JSON values (`kamal secrets extract` prints whatever the JSON holds) ----

def float_to_s(value: float) -> str:
    """Ruby `Float#to_s`: `1.0e+20`, `1.0e-05`, `Infinity` where Python writes `1e+20`, `1e-05`, `inf`."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    mantissa, exponent_mark, exponent = text.partition("e")
    if exponent_mark and "." not in mantissa:
        mantissa += ".0"
    return mantissa + exponent_mark + exponent


# `\xHH` escapes in `rubyish.inspect` output (an escape follows an even run of backslashes).
_CONTROL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-F]{2})")


def inspect_value(value: object) -> str:
    """Ruby 3.3 `#inspect` of a parsed JSON value (`{"a"=>1, "b"=>[nil, true]}`)."""
    from app.rubyish import inspect

    if isinstance(value, str):
        return _CONTROL_ESCAPE.sub(r"\1\\u00\2", inspect(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{inspect_value(k)}=>{inspect_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inspect_value(item) for item in value) + "]"
    return to_s_value(value) if value is not None else "nil"


def to_s_value(value: object) -> str:
    """Ruby `#to_s` of a parsed JSON value."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return float_to_s(value)
    if isinstance(value, str | int):
        return str(value)
    return inspect_value(value)


def puts(value: object) -> str:
    """What Ruby's `puts value` writes: arrays one element a line (flattened, so an empty array writes
    nothing), a newline added unless the text ends with one."""
    if isinstance(value, list):
        return "".join(puts(item) for item in value)
    return _line(to_s_value(value))


def _line(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
