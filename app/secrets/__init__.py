"""Kamal-faithful secrets: `.kamal/secrets*` files, the OS keyring and the environment.

`Secrets(project_dir, secrets_path, destination, environ)` is what later layers use (env files,
registry passwords); see `app.secrets.store` for the resolution order. With `--secrets-from-env`,
pass `env_source=app.secrets.env_source.EnvSource.from_specs(specs)` to take secrets from the CI
environment first. Importing this package loads neither `keyring` nor any password-manager code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.secrets.store import DEFAULT_SECRETS_PATH, Secrets, secrets_filenames

__all__ = ["DEFAULT_SECRETS_PATH", "Secrets", "secrets_filenames"]


def __getattr__(name: str) -> object:
    # Imported on first use, so that registering the `secrets` commands (every CLI start) stays cheap.
    if name in __all__:
        from app.secrets import store

        return getattr(store, name)
    raise AttributeError(name)
