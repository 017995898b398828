"""Errors that reach the user as one clear line, never as a traceback.

Every error shipdeck raises on purpose derives from `ShipdeckError`; the CLI prints
`shipdeck: <message>` (masked) and exits with `exit_code`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the operation ran and failed (a deploy step, a remote command)
EXIT_USAGE = 2  # bad input: config, secrets, arguments; nothing was changed


class ShipdeckError(Exception):
    """An error with a message meant for the operator."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(ShipdeckError):
    """Wrong command-line arguments or input that was refused before anything ran."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A problem in a Kamal file, located at `file:line` where that is known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        super().__init__(self._format(message, file, line))

    @staticmethod
    def _format(message: str, file: str | None, line: int | None) -> str:
        if file and line:
            return f"{file}:{line}: {message}"
        if file:
            return f"{file}: {message}"
        return message


class SecretsError(UsageError):
    """A secret that is missing or a secrets file that cannot be read."""
