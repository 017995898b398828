"""Kamal's `kamal secrets fetch --adapter NAME` adapters, driving the same password-manager CLIs.

Each adapter runs its CLI with the same arguments, in the same order, as Kamal 2.11 does, and
returns the same `{key: value}` results. Arguments go to the CLI as an argv list (no shell); session
tokens travel in the environment where the CLI allows it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping

from app.secrets.adapters.base import Adapter
from app.secrets.dotenv import CommandFailed

_ALIASES = {"1password": "one_password", "lastpass": "last_pass", "gcp": "gcp_secret_manager",
            "bitwarden-sm": "bitwarden_secrets_manager"}

# Kamal's adapter class name -> module:class
ADAPTERS = {
    "Test": "app.secrets.adapters.test:TestAdapter",
    "OnePassword": "app.secrets.adapters.one_password:OnePassword",
    "Bitwarden": "app.secrets.adapters.bitwarden:Bitwarden",
    "BitwardenSecretsManager": "app.secrets.adapters.bitwarden_secrets_manager:BitwardenSecretsManager",
    "LastPass": "app.secrets.adapters.last_pass:LastPass",
    "AwsSecretsManager": "app.secrets.adapters.aws_secrets_manager:AwsSecretsManager",
    "GcpSecretManager": "app.secrets.adapters.gcp_secret_manager:GcpSecretManager",
    "Doppler": "app.secrets.adapters.doppler:Doppler",
    "Enpass": "app.secrets.adapters.enpass:Enpass",
    "Passbolt": "app.secrets.adapters.passbolt:Passbolt",
}

_LEADING_WORD = re.compile(r"^[a-z\d]*")
_UNDERSCORE_WORD = re.compile(r"_([a-z\d]*)", re.I)


def camelize(name: str) -> str:
    """ActiveSupport's `String#camelize` for adapter names: `last_pass` → `LastPass`."""
    name = _LEADING_WORD.sub(lambda m: m.group(0).capitalize(), name, count=1)
    return _UNDERSCORE_WORD.sub(lambda m: m.group(1).capitalize(), name)


def lookup(name: str, environ: Mapping[str, str]) -> Adapter:
    """The adapter for `--adapter NAME` (Kamal's aliases and spellings included)."""
    target = ADAPTERS.get(camelize(_ALIASES.get(name.lower(), name)))
    if target is None:
        raise CommandFailed(f"Unknown secrets adapter: {name}")
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(environ)
