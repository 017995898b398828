"""Writing `.kamal/secrets` so that Kamal reads back exactly the original value.

Double quotes plus backslashes are not enough: dotenv still substitutes `$VAR` and `$(...)` inside
double quotes, turns `\\n` into something that depends on DOTENV_LINEBREAK_MODE, and converts every
CR to LF before parsing. Each value therefore gets the simplest construct that provably round-trips:

1. `KEY='value'` — single quotes are literal and may span lines. Not usable when the value contains
   `'` or CR, or ends with a backslash (`\\'` would then swallow the closing quote).
2. `KEY="value"` with only `"` escaped — for values with `'` but no backslash, `$` or CR.
3. `KEY=$(kamal secrets extract KEY '{"KEY":"..."}')` — everything else. Kamal runs `kamal secrets
   extract` in-process (nothing is executed, the value reaches no argv); the JSON spells every
   delicate character as `\\uXXXX`. Two dotenv steps still apply to the extracted text: one trailing
   line break is chomped (so a value ending in LF gets one extra LF) and `$NAME` is substituted (so
   each such `$` gets a backslash). A value ending in CR cannot survive the chomp; it is followed by
   `$KEY`, which the substitution removes because a preceding `KEY=''` line makes it empty.

Every encoding is checked by decoding it with the parser (no commands run, under two different
environments) before anything is written, and the whole new file is re-scanned to prove that the
other keys are untouched.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import SecretsError, UsageError
from app.secrets import dotenv, inline
from app.secrets.dotenv import CommandFailed, Context

KEY_PATTERN = re.compile(r"[A-Za-z0-9_.]+")
_JSON_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !%&*+,-./:;<=>?@[]^_`{|}~")
_DOLLAR_NOT_COMMAND = re.compile(r"\$(?!\()")


def check_key(key: str) -> None:
    if not KEY_PATTERN.fullmatch(key):
        raise UsageError(f"invalid secret name {key!r}: use letters, digits, '_' and '.'")


def check_value(key: str, value: str) -> None:
    if "\0" in value:
        raise UsageError(f"the value of {key} contains a NUL character, which no secrets file can hold")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the value of {key} is not valid UTF-8 text") from None


def _json_string(text: str) -> str:
    out = []
    for char in text:
        if char in _JSON_SAFE or (ord(char) > 0x7F and char.isprintable()):
            out.append(char)
        elif ord(char) > 0xFFFF:
            high, low = divmod(ord(char) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return '"' + "".join(out) + '"'


def encode(key: str, value: str) -> list[str]:
    """The line(s) defining `key` so that Kamal's parser yields exactly `value`."""
    check_key(key)
    check_value(key, value)
    if "'" not in value and "\r" not in value and not value.endswith("\\"):
        return [f"{key}='{value}'"]
    if not any(char in value for char in "\\$\r"):
        return [f'{key}="' + value.replace('"', '\\"') + '"']
    extracted = _DOLLAR_NOT_COMMAND.sub(lambda _: "\\$", value)
    lines = []
    if value.endswith("\r"):
        if not re.fullmatch(r"[A-Za-z0-9_]+", key):
            raise UsageError(f"a value ending in CR cannot be written for {key}: its name contains '.'")
        lines.append(f"{key}=''")
        extracted += f"${key}"
    elif value.endswith("\n"):
        extracted += "\n"
    payload = "{" + f'"{key}":' + _json_string(extracted) + "}"
    lines.append(f"{key}=$(kamal secrets extract {key} '" + payload.replace("\\", "\\\\") + "')")
    return lines


class _Poisoned(Mapping[str, str]):
    """An environment in which every variable exists (and asks for legacy line breaks)."""

    def __getitem__(self, name: str) -> str:
        return "legacy" if name == dotenv.LINEBREAK_MODE else "\u2620"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, name: object) -> bool:
        return True


def _static_context(environ: Mapping[str, str]) -> Context:
    """Decode without running anything: only in-process `kamal secrets extract` is allowed."""

    def refuse_shell(command: str) -> str:
        raise CommandFailed("would run a command")

    def extract_only(argv: list[str]) -> str:
        if argv[:2] != ["secrets", "extract"]:
            raise CommandFailed("would run a password manager")
        return inline.run(argv, {})

    return Context(environ=environ, run_shell=refuse_shell, run_kamal=extract_only)


def decode_statically(text: str) -> dict[str, str] | None:
    """Parse `text` if its values depend on nothing outside it (no commands, no environment)."""
    results = []
    for environ in ({}, _Poisoned()):
        try:
            results.append(dotenv.parse(text, _static_context(environ)))
        except (SecretsError, CommandFailed):
            return None
    return results[0] if results[0] == results[1] else None


@dataclass(frozen=True)
class WriteResult:
    path: Path
    added: list[str]
    replaced: list[str]
    unchanged: list[str]


def _line_bounds(text: str, assignment: dotenv.Assignment) -> tuple[int, int]:
    """From the start of the key's line to the end of its value; the rest of the line too when it
    holds only blanks (a same-line comment stays)."""
    match = dotenv.LINE.match(text, assignment.start)
    if match is None:  # cannot happen: the assignment came from this text
        raise SecretsError("internal error: secrets file changed while writing")
    start = text.rfind("\n", 0, match.start("key")) + 1
    if match.group("value") is not None:
        end = match.end("value")
    else:
        end = match.end("sep") if match.group("sep") is not None else match.end("key")
    rest_of_line = text[end:].split("\n", 1)[0]
    if not rest_of_line.strip(" \t"):
        end += len(rest_of_line) + (1 if text.startswith("\n", end + len(rest_of_line)) else 0)
    return start, end


def plan(existing: str, values: Mapping[str, str], *, force: bool, file_label: str) -> tuple[str, WriteResult]:
    """The new file text, or a `SecretsError` naming the first conflict."""
    text = dotenv.normalize(existing.removeprefix("\ufeff"))
    found = dotenv.assignments(text)
    encoded = {key: encode(key, value) for key, value in values.items()}
    for key, lines in encoded.items():
        check = decode_statically("\n".join(lines) + "\n")
        if check is None or check.get(key) != values[key]:
            raise SecretsError(f"cannot encode the value of {key} safely (please report this)")

    added, replaced, unchanged = [], [], []
    removals: list[tuple[int, int, str]] = []
    for key, lines in encoded.items():
        own = [a for a in found if a.key == key]
        if not own:
            added.append(key)
            continue
        current = decode_statically("\n".join(text[a.start : a.end] for a in own) + "\n")
        if current is not None and current.get(key) == values[key]:
            unchanged.append(key)
            continue
        if not force:
            raise SecretsError(
                f"{file_label}:{own[-1].line}: {key} already has a different value; "
                "use --force to replace it (nothing was written)"
            )
        replaced.append(key)
        for index, assignment in enumerate(own):
            start, end = _line_bounds(text, assignment)
            replacement = "\n".join(lines) + "\n" if index == 0 else ""
            removals.append((start, end, replacement))

    pieces, last = [], 0
    for start, end, replacement in sorted(removals):
        pieces.append(text[last:start])
        if replacement and text[start:end] and not text[start:end].endswith("\n") and end < len(text):
            replacement = replacement.rstrip("\n")
        pieces.append(replacement)
        last = end
    pieces.append(text[last:])
    new_text = "".join(pieces)
    if added:
        if new_text and not new_text.endswith("\n"):
            new_text += "\n"
        new_text += "".join("\n".join(encoded[key]) + "\n" for key in added)

    _verify(text, new_text, encoded, file_label)
    return new_text, WriteResult(Path(file_label), added, replaced, unchanged)


def _verify(old_text: str, new_text: str, encoded: Mapping[str, list[str]], file_label: str) -> None:
    """Every written key is read as written, and every other key exactly as before."""
    before = [(a.key, a.raw_value) for a in dotenv.assignments(old_text) if a.key not in encoded]
    after_all = dotenv.assignments(new_text)
    after = [(a.key, a.raw_value) for a in after_all if a.key not in encoded]
    if before != after:
        raise SecretsError(f"{file_label}: writing would change how other keys are read; nothing was written")
    for key, lines in encoded.items():
        expected: list[str | None] = [line.split("=", 1)[1] for line in lines]
        got = [a.raw_value for a in after_all if a.key == key]
        if got != expected:
            raise SecretsError(
                f"{file_label}: an earlier line (an unterminated quote?) would swallow {key}; nothing was written"
            )


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, replacing it in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_secrets(
    path: Path, values: Mapping[str, str], *, force: bool = False, label: str | None = None
) -> WriteResult:
    """Merge `values` into the secrets file at `path` (created if missing)."""
    label = label or str(path)
    try:
        existing = path.read_bytes().decode("utf-8") if path.exists() else ""
    except OSError as error:
        raise SecretsError(f"{label}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise SecretsError(f"{label}: not valid UTF-8; nothing was written") from None
    new_text, result = plan(existing, values, force=force, file_label=label)
    if new_text != dotenv.normalize(existing.removeprefix("\ufeff")) or not path.exists():
        try:
            write_atomically(path, new_text)
        except OSError as error:
            raise SecretsError(f"{label}: cannot write: {error.strerror or error}") from None
    return WriteResult(path, result.added, result.replaced, result.unchanged)
