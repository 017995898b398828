"""Secrets taken straight from the process environment: CI variables, with no secrets file written.

`--secrets-from-env [NAME=VARIABLE ...]` (and `secrets write --from-env`) name their sources as
`NAME` (the variable of the same name) or `NAME=VARIABLE` (when the CI's variable is called
differently, e.g. `KAMAL_REGISTRY_PASSWORD=CI_REGISTRY_PASSWORD`).

Precedence, when an `EnvSource` is given to `Secrets`: it is consulted **first**, before Kamal's
secrets files, the keyring and the plain environment fallback. The flag is an explicit request to
take secrets from the CI environment, and a committed `.kamal/secrets` often holds lines that cannot
work in CI (`RAILS_MASTER_KEY=$(cat config/master.key)` gives an empty value there, a `$(op ...)`
command fails); the files are read only for names the environment does not have.

- A mapped name (`NAME=VARIABLE`) is always taken from VARIABLE, which must be set (checked when the
  source is created, so a typo fails before anything runs).
- Any other name is taken from the variable of the same name when that is set; otherwise the lookup
  falls through to the files, the keyring and the environment as usual.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.errors import UsageError
from app.secrets import masking

SOURCE = "secrets-from-env"


def parse_specs(specs: Sequence[str], flag: str) -> dict[str, str]:
    """`NAME[=VARIABLE]` items → {secret name: variable name}; a clear error for a bad item."""
    from app.secrets.writer import check_key

    mapping: dict[str, str] = {}
    for spec in specs:
        name, _, variable = spec.partition("=")
        variable = variable or name
        try:
            check_key(name)
        except UsageError as error:
            raise UsageError(f"{flag} {spec}: {error}") from None
        if name in mapping:
            raise UsageError(f"{flag}: {name} given twice")
        mapping[name] = variable
    return mapping


@dataclass(frozen=True)
class EnvSource:
    """Secret values read from `environ`: mapped names from their variable, others by their own name."""

    mapping: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    flag: str = "--secrets-from-env"

    @classmethod
    def from_specs(cls, specs: Sequence[str] = (), environ: Mapping[str, str] | None = None, *,
                   flag: str = "--secrets-from-env") -> EnvSource:
        """The source a `--secrets-from-env [NAME=VARIABLE ...]` flag asks for (no items: same names).

        Raises `UsageError` (exit 2) for a malformed item or a mapped variable that is not set. The
        mapped values are registered for masking at once.
        """
        environ = os.environ if environ is None else environ
        mapping = parse_specs(specs, flag)
        unset = [f"{variable} (for {name})" for name, variable in mapping.items() if variable not in environ]
        if unset:
            raise UsageError(f"{flag}: environment variable {', '.join(unset)} is not set")
        for variable in mapping.values():
            masking.register(environ[variable])
        return cls(mapping=mapping, environ=environ, flag=flag)

    def variable_for(self, name: str) -> str:
        return self.mapping.get(name, name)

    def lookup(self, name: str) -> str | None:
        value = self.environ.get(self.variable_for(name))
        if value is not None:
            masking.register(value)
        return value

    def names(self) -> list[str]:
        """The names mapped explicitly (other names are found only when asked for)."""
        return list(self.mapping)
