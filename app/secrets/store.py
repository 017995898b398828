"""The `Secrets` object: Kamal's secrets files first, then the OS keyring, then the environment.

Resolution order for a name (documented in the README):

0. **Only with `--secrets-from-env`** (an `app.secrets.env_source.EnvSource`): the CI environment,
   before everything else; see that module for why.
1. **Kamal's files, exactly as Kamal reads them**: `<secrets_path>-common`, then `<secrets_path>`
   (or `<secrets_path>.<destination>` with a destination); missing files skipped; each parsed on its
   own with `overwrite: true`; later files win. A name defined there always wins, so shipdeck and
   Kamal agree on every secret that Kamal can see.
2. **The OS keyring** (service `shipdeck`, user = the secret's name), for secrets an operator keeps
   out of files (`shipdeck secrets set NAME`).
3. **The process environment**, last, so that CI variables fill gaps but never override what the
   project's files say (as `overwrite: true` does inside the files).

Files load lazily, on the first lookup, so `$(...)` commands (password managers that prompt) run
only when a secret is needed; lookups are serialised with a lock for the same reason. Every value
that is resolved is registered with `app.secrets.masking`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import SecretsError
from app.secrets import dotenv, masking
from app.secrets.dotenv import CommandFailed, Context

if TYPE_CHECKING:
    from app.secrets.env_source import EnvSource

DEFAULT_SECRETS_PATH = ".kamal/secrets"
SOURCES = ("secrets-from-env", "file", "keyring", "env")

KeyringLookup = Callable[[str], "str | None"]


def secrets_filenames(secrets_path: str = DEFAULT_SECRETS_PATH, destination: str | None = None) -> list[str]:
    """The files Kamal reads, in order (whether they exist or not)."""
    return [f"{secrets_path}-common", f"{secrets_path}.{destination}" if destination else secrets_path]


def _default_keyring_lookup(name: str) -> str | None:
    from app.secrets import keyring_store

    return keyring_store.lookup(name)


class Secrets:
    """Secrets of one project and destination, resolved lazily."""

    def __init__(
        self,
        project_dir: str | os.PathLike[str] = ".",
        secrets_path: str | None = None,
        destination: str | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        keyring_lookup: KeyringLookup | None = _default_keyring_lookup,
        run_shell: Callable[[str], str] | None = None,
        env_source: EnvSource | None = None,
    ) -> None:
        self.project_dir = Path(project_dir)
        self.secrets_path = secrets_path or DEFAULT_SECRETS_PATH
        self.destination = destination
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._keyring_lookup = keyring_lookup
        self._run_shell = run_shell
        self.env_source = env_source
        self._lock = threading.RLock()
        self._values: dict[str, str] | None = None
        self._sources: dict[str, str] = {}

    # -- files ------------------------------------------------------------------------------------

    @property
    def filenames(self) -> list[str]:
        return secrets_filenames(self.secrets_path, self.destination)

    @property
    def files(self) -> list[str]:
        """The secrets files that exist, as Kamal names them (relative to the project)."""
        return [name for name in self.filenames if (self.project_dir / name).exists()]

    def _context(self) -> Context:
        from app.secrets import inline, shell

        environ = self.environ

        def run_kamal(argv: list[str]) -> str:
            try:
                return inline.run(argv, environ)
            except CommandFailed:
                raise
            except Exception as error:
                raise CommandFailed(f"kamal {' '.join(argv[:2])}: unexpected {type(error).__name__}") from None

        def run_shell(command: str) -> str:
            return shell.backticks(command, environ)

        return Context(environ=environ, run_shell=self._run_shell or run_shell, run_kamal=run_kamal)

    def _read(self, name: str) -> str:
        path = self.project_dir / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SecretsError(f"{name}: cannot read: {error.strerror or error}") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise SecretsError(f"{name}:{line}: not valid UTF-8") from None

    def file_values(self) -> dict[str, str]:
        """All secrets from the files, merged as Kamal merges them (`kamal secrets print`)."""
        with self._lock:
            if self._values is None:
                merged: dict[str, str] = {}
                context = self._context()
                for name in self.files:
                    merged.update(dotenv.parse(self._read(name), context, file=name))
                for value in merged.values():
                    masking.register(value)
                self._values = merged
            return dict(self._values)

    # -- lookups ----------------------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Names defined in the files and mapped by `--secrets-from-env` (the keyring and the
        environment cannot be listed)."""
        names = self.env_source.names() if self.env_source else []
        return names + [name for name in self.file_values() if name not in names]

    def values(self) -> dict[str, str]:
        """Every listable secret with the value a lookup gives it (what hooks are handed)."""
        return {name: found[0] for name in self.keys() if (found := self.lookup(name)) is not None}

    def lookup(self, name: str) -> tuple[str, str] | None:
        """(value, source) for `name`, or None."""
        with self._lock:
            if self.env_source is not None:
                value = self.env_source.lookup(name)
                if value is not None:
                    return value, SOURCES[0]
            values = self.file_values()
            if name in values:
                return values[name], "file"
            if self._keyring_lookup is not None:
                value = self._keyring_lookup(name)
                if value is not None:
                    masking.register(value)
                    return value, "keyring"
            if name in self.environ:
                value = self.environ[name]
                masking.register(value)
                return value, "env"
            return None

    def __getitem__(self, name: str) -> str:
        found = self.lookup(name)
        if found is None:
            raise SecretsError(self.not_found_message(name))
        return found[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.lookup(name) is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self.lookup(name)
        return default if found is None else found[0]

    def source_of(self, name: str) -> str | None:
        found = self.lookup(name)
        return None if found is None else found[1]

    def check(self, references: Iterable[str]) -> None:
        """Resolve every reference now: a bad line, a failing `$(...)` or a missing secret is a
        `SecretsError` (exit 2) before any connection is made, naming every missing secret."""
        keys = dict.fromkeys(_secret_key(reference) for reference in references)
        missing = [key for key in keys if self.lookup(key) is None]
        if missing:
            raise SecretsError(self.not_found_message(*missing))

    def resolve(self, names: Iterable[str]) -> dict[str, str]:
        """Values for Kamal secret references: `NAME`, or `NAME:SECRET_KEY` (NAME from SECRET_KEY)."""
        resolved: dict[str, str] = {}
        for reference in names:
            resolved[reference.partition(":")[0]] = self[_secret_key(reference)]
        return resolved

    def not_found_message(self, *names: str) -> str:
        """Kamal's message for a missing secret (plus the variable looked for with --secrets-from-env)."""
        quoted = ", ".join(f"'{name}'" for name in names)
        message = f"Secret {quoted} not found" if len(names) == 1 else f"Secrets {quoted} not found"
        if self.files:
            message += f" in {', '.join(self.files)}"
        else:
            message += f", no secret files ({', '.join(self.filenames)}) provided"
        if self.env_source is not None:
            variables = ", ".join(self.env_source.variable_for(name) for name in names)
            message += f", nor in the environment ({variables}; {self.env_source.flag})"
        return message


def _secret_key(reference: str) -> str:
    """`NAME:SECRET_KEY` reads SECRET_KEY; `NAME` reads NAME."""
    env_name, _, secret_key = reference.partition(":")
    return secret_key or env_name
