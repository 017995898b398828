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
