"""Secrets kept in the OS keyring under the service name `shipdeck` (user = the secret's name).

`keyring` is imported here, lazily, only when one of these functions runs.
"""

from __future__ import annotations

from app.errors import SecretsError

SERVICE = "shipdeck"


def _keyring():
    import keyring

    return keyring


def lookup(name: str) -> str | None:
    """The keyring's value for `name`, or None when absent or when no keyring is usable."""
    try:
        return _keyring().get_password(SERVICE, name)
    except Exception:
        return None


def _fail(action: str, error: Exception) -> SecretsError:
    return SecretsError(f"keyring: cannot {action}: {type(error).__name__}: {error}")


def store(name: str, value: str) -> None:
    try:
        _keyring().set_password(SERVICE, name, value)
    except Exception as error:
        raise _fail(f"store {name}", error) from None


def fetch(name: str) -> str:
    try:
        value = _keyring().get_password(SERVICE, name)
    except Exception as error:
        raise _fail(f"read {name}", error) from None
    if value is None:
        raise SecretsError(f"keyring: no secret {name} (service {SERVICE})")
    return value


def remove(name: str) -> None:
    keyring = _keyring()
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        raise SecretsError(f"keyring: no secret {name} (service {SERVICE})") from None
    except Exception as error:
        raise _fail(f"delete {name}", error) from None
