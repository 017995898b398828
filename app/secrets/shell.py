"""Running `$(...)` commands the way Ruby's backticks do.

Ruby hands a command string to `/bin/sh -c` only when it contains shell syntax (meta characters,
an assignment or a shell keyword as the first word); otherwise it splits the string on blanks and
executes the program directly, so a missing program is an error rather than empty output. The exit
status is ignored and stdin/stderr are inherited (password managers may prompt).
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Mapping

from app.secrets.dotenv import CommandFailed

_META = set("*?{}[]<>()~&|\\$;'`\"\n#")
_SHELL_WORDS = {
    "!", ".", ":", "break", "case", "continue", "do", "done", "elif", "else", "esac", "eval", "exec",
    "exit", "export", "fi", "for", "if", "in", "readonly", "return", "set", "shift", "then", "times",
    "trap", "unset", "until", "while",
}


def needs_shell(command: str) -> bool:
    """Ruby's rule (process.c) for passing a command string to the shell."""
    if any(char in _META for char in command):
        return True
    words = command.replace("\t", " ").split(" ")
    first = next((word for word in words if word), "")
    return "=" in first or first in _SHELL_WORDS


def argv_for(command: str) -> list[str]:
    if needs_shell(command):
        return ["/bin/sh", "-c", command]
    return [word for word in command.replace("\t", " ").split(" ") if word]


def run(command: str, environ: Mapping[str, str], *, stdin_data: str | None = None) -> tuple[int, str]:
    """Run like Ruby backticks; returns (exit status, stdout)."""
    argv = argv_for(command)
    if not argv:
        raise CommandFailed("No such file or directory - empty command")
    try:
        return _run(argv, environ, stdin_data)
    except FileNotFoundError:
        raise CommandFailed(f"No such file or directory - {argv[0]}") from None
    except PermissionError:
        raise CommandFailed(f"Permission denied - {argv[0]}") from None
    except OSError as error:
        if error.errno == errno.ENOEXEC:  # Ruby then runs the file as a shell script
            return _run(["/bin/sh", *argv], environ, stdin_data)
        raise CommandFailed(f"{error.strerror or type(error).__name__} - {argv[0]}") from None


def _run(argv: list[str], environ: Mapping[str, str], stdin_data: str | None) -> tuple[int, str]:
    completed = subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        input=stdin_data.encode() if stdin_data is not None else None,
        env=dict(environ),
        check=False,
    )
    return completed.returncode, completed.stdout.decode("utf-8", errors="surrogateescape")


def backticks(command: str, environ: Mapping[str, str]) -> str:
    """Ruby `` `command` ``: the output, whatever the exit status."""
    return run(command, environ)[1]
