"""`.kamal/secrets` parsing with the exact semantics Kamal 2.11 gets from dotenv 3.2.

One file is parsed on its own (`parse`), as `Dotenv.parse(file, overwrite: true)` does:

1. CRLF and lone CR become LF; a UTF-8 BOM is dropped.
2. Every match of `LINE` (a key, a separator, an optional quoted or unquoted value, an optional
   comment) assigns a key, in file order. `$VAR` sees only earlier keys of the same file.
3. A value: whitespace stripped; surrounding quotes removed; single quotes are literal; double
   quotes turn `\\n`/`\\r` into backslash sequences (or real line breaks in "legacy" linebreak mode)
   and then, like unquoted values, drop a backslash before anything but `$`.
4. Substitutions (not for single quotes), in Kamal's order:
   a. `$(...)` with balanced parentheses: `\\$(...)` stays literal (minus the backslash); otherwise
      `$VAR` inside the command text is substituted first, then `kamal secrets ...` runs in-process
      and anything else runs through the shell; the output loses one trailing line break.
   b. `$VAR` / `${VAR}`: a key of this file, else the process environment, else empty; `\\$` is a
      literal `$`. This also runs over command output.
5. `export NAME` (or `export NAME=` with nothing after it) assigns nothing and fails unless an
   earlier line defined NAME: `Line "export NAME" has an unset variable`. A bare `NAME` line
   defines NAME as empty. Anything else that is not a `LINE` is ignored.

Everything that runs commands or reads the environment goes through `Context`, so the writer can
decode a value without running anything and tests can see exactly what would run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app import rubyish
from app.errors import SecretsError
from app.secrets import rubytext

_WS = r"[ \t\n\v\f\r]"
LINE = re.compile(
    rf"""
    (?:^|\A)
    {_WS}*
    (?P<export>export{_WS}+)?
    (?P<key>[A-Za-z0-9_.]+)
    (?:
        (?P<sep>{_WS}*={_WS}*?|:{_WS}+?)
        (?P<value>
            {_WS}*'(?:\\'|[^'])*'
          | {_WS}*"(?:\\"|[^"])*"
          | [^\#\n]+
        )?
    )?
    {_WS}*
    (?:\#.*)?
    (?:$|\Z)
    """,
    re.X | re.M,
)

_SURROUNDING_QUOTES = re.compile(r"(['\"])(.*)\1", re.S)
_BACKSLASH_ESCAPE = re.compile(r"\\([^$])")
# Ruby's /[A-Z0-9_]/i also matches the two non-ASCII letters that case-fold into ASCII.
VARIABLE = re.compile(r"(\\)?(\$)(?!\()\{?([A-Za-z0-9_\u017f\u212a]+)?\}?")
_KAMAL_SECRETS_COMMAND = re.compile(r"\A[ \t\n\v\f\r]*kamal[ \t\n\v\f\r]*secrets[ \t\n\v\f\r]+")
LINEBREAK_MODE = "DOTENV_LINEBREAK_MODE"


class DotenvError(SecretsError):
    """A problem inside one secrets file, reported as `file:line: message`."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file, self.line, self.detail = file, line, message
        location = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(location + message)


class CommandFailed(Exception):
    """A `$(...)` command could not run; the message never contains the command's output."""


@dataclass
class Context:
    """What parsing may consult: the process environment and a way to run `$(...)` commands.

    `run_shell(command)` returns the command's stdout; `run_kamal(argv)` runs a `kamal secrets`
    command in-process (argv without the leading `kamal`, `--inline` appended) and returns its
    result. Both raise `CommandFailed` on errors.
    """

    environ: Mapping[str, str]
    run_shell: Callable[[str], str]
    run_kamal: Callable[[list[str]], str]
    commands_run: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Assignment:
    """One `LINE` match: the key, the raw value text (None when absent), and where it is."""

    key: str
    raw_value: str | None
    start: int
    end: int
    line: int
    exported: bool = False
    text: str = ""

    @property
    def defines(self) -> bool:
        """`export KEY` without a value only checks that KEY exists; everything else assigns."""
        return not (self.exported and self.raw_value is None)


def normalize(text: str) -> str:
    """Line breaks as dotenv sees them."""
    return re.sub(r"\r\n?", "\n", text)


def assignments(text: str) -> list[Assignment]:
    """Every `LINE` match of an already normalized text, in order."""
    found = []
    for match in LINE.finditer(text):
        found.append(
            Assignment(
                key=match.group("key"),
                raw_value=match.group("value"),
                start=match.start(),
                end=match.end(),
                line=text.count("\n", 0, match.start("key")) + 1,
                exported=match.group("export") is not None,
                text=match.group(0),
            )
        )
    return found


def _is_legacy(values: Mapping[str, str], environ: Mapping[str, str]) -> bool:
    mode = values[LINEBREAK_MODE] if LINEBREAK_MODE in values else environ.get(LINEBREAK_MODE)
    return mode == "legacy"


def _expand_newlines(value: str, legacy: bool) -> str:
    if legacy:
        return value.replace("\\n", "\n").replace("\\r", "\r")
    return value.replace("\\n", "\\\\n").replace("\\r", "\\\\r")


def unescape_characters(value: str) -> str:
    return _BACKSLASH_ESCAPE.sub(lambda m: m.group(1), value)


def substitute_variables(value: str, lookup: Callable[[str], str]) -> str:
    """dotenv's Variable substitution; `lookup(name)` returns the value or ''."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        if match.group(3) is not None:
            return lookup(match.group(3))
        return match.group(0)

    return VARIABLE.sub(replace, value)


def _balanced_end(text: str, open_index: int) -> int | None:
    """End of `(?<cmd>\\((?:[^()]|\\g<cmd>)+\\))` starting at `open_index`, or None.

    Each group needs at least one item, so `()` never matches (and neither does anything around it).
    """
    counts = [0]
    index = open_index + 1
    while index < len(text):
        char = text[index]
        if char == ")":
            if counts[-1] == 0:
                return None
            counts.pop()
            if not counts:
                return index + 1
            counts[-1] += 1
        elif char == "(":
            counts.append(0)
        else:
            counts[-1] += 1
        index += 1
    return None


def command_spans(value: str) -> list[tuple[int, int, bool]]:
    """(start, end, escaped) of each `$(...)` match, scanning like Ruby's gsub."""
    spans = []
    index = 0
    while index < len(value):
        escaped = value.startswith("\\$(", index)
        dollar = index + 1 if escaped else index
        if value.startswith("$(", dollar):
            end = _balanced_end(value, dollar + 1)
            if end is not None:
                spans.append((index, end, escaped))
                index = end
                continue
        index += 1
    return spans


class FileParser:
    """Parses one secrets file; `values` fills in file order, as `@hash` does in dotenv."""

    def __init__(self, text: str, context: Context, *, file: str | None = None) -> None:
        self.text = normalize(text.removeprefix("\ufeff"))
        self.context = context
        self.file = file
        self.values: dict[str, str] = {}

    def parse(self) -> dict[str, str]:
        for assignment in assignments(self.text):
            if not assignment.defines:
                if assignment.key not in self.values:
                    message = f"Line {rubyish.inspect(assignment.text)} has an unset variable"
                    raise DotenvError(message, file=self.file, line=assignment.line)
                continue
            try:
                self.values[assignment.key] = self.parse_value(assignment.raw_value or "")
            except CommandFailed as error:
                raise DotenvError(str(error), file=self.file, line=assignment.line) from None
        return self.values

    def lookup(self, name: str) -> str:
        """`overwrite: true`: this file's keys beat the process environment."""
        if name in self.values:
            return self.values[name]
        return self.context.environ.get(name, "")

    def parse_value(self, raw: str) -> str:
        value = rubytext.strip(raw)
        quoted = _SURROUNDING_QUOTES.fullmatch(value)
        quote = quoted.group(1) if quoted else None
        if quoted:
            value = quoted.group(2)
        if quote == "'":
            return value
        if quote == '"':
            value = _expand_newlines(value, _is_legacy(self.values, self.context.environ))
        value = unescape_characters(value)
        value = self.substitute_commands(value)
        return substitute_variables(value, self.lookup)

    def substitute_commands(self, value: str) -> str:
        pieces = []
        last = 0
        for start, end, escaped in command_spans(value):
            pieces.append(value[last:start])
            if escaped:
                pieces.append(value[start + 1 : end])
            else:
                command_start = start + 2
                pieces.append(self.run_command(value[command_start : end - 1]))
            last = end
        pieces.append(value[last:])
        return "".join(pieces)

    def run_command(self, command: str) -> str:
        command = substitute_variables(command, self.lookup)
        self.context.commands_run.append(command)
        if _KAMAL_SECRETS_COMMAND.match(command):
            try:
                argv = rubytext.shellsplit(command)
            except rubytext.ShellSplitError as error:
                raise CommandFailed(f"kamal secrets command: {error}") from None
            return rubytext.chomp(self.context.run_kamal([*argv[1:], "--inline"]))
        return rubytext.chomp(self.context.run_shell(command))


def parse(text: str, context: Context, *, file: str | None = None) -> dict[str, str]:
    """Parse one secrets file's text."""
    return FileParser(text, context, file=file).parse()
