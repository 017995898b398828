"""Errors of the Docker-command layer: commands that cannot be run through the Engine API, and
failures reported by the engine, worded the way the docker CLI words them."""

from __future__ import annotations

from app.errors import ShipdeckError


class NotTranslatable(ShipdeckError):
    """A command the Engine API path cannot reproduce exactly; the caller runs it over SSH instead.

    This is a decision, not a failure: `reason` says what would have been lost in translation.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not translatable to the Docker Engine API: {reason}")


class DockerCommandError(ShipdeckError):
    """A docker command failed; the message reads like the docker CLI's own error line."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


def daemon_error(message: str, status: int | None = None) -> DockerCommandError:
    """The CLI prefixes every error the engine returns with this phrase."""
    return DockerCommandError(f"Error response from daemon: {message}", status=status)
