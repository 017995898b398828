"""Kamal's `kamal secrets fetch --adapter NAME` adapters, driving the same password-manager CLIs.

Each adapter runs its CLI with the same arguments, in the same order, as Kamal 2.11 does, and
returns the same `{key: value}` results. Arguments go to the CLI as an argv list (no shell); session
tokens travel in the environment where the CLI allows it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from app.secrets.adapters.base import Adapter
from app.secrets.dotenv import CommandFailed

_ALIASES = {"1password": "one_password", "lastpass": "last_pass", "gcp": "gcp_secret_manager",
            "bitwarden-sm": "bitwarden_secrets_manager"}

# adapter name -> module:class
IMPLEMENTED = {
    "test": "app.secrets.adapters.test:TestAdapter",
    "one_password": "app.secrets.adapters.one_password:OnePassword",
    "bitwarden": "app.secrets.adapters.bitwarden:Bitwarden",
    "aws_secrets_manager": "app.secrets.adapters.aws_secrets_manager:AwsSecretsManager",
    "doppler": "app.secrets.adapters.doppler:Doppler",
}
# Adapters Kamal 2.11 has that shipdeck does not drive yet.
NOT_IMPLEMENTED = {
    "bitwarden_secrets_manager": "Bitwarden Secrets Manager (bws)",
    "last_pass": "LastPass (lpass)",
    "gcp_secret_manager": "GCP Secret Manager (gcloud)",
    "enpass": "Enpass (enpass-cli)",
    "passbolt": "Passbolt (passbolt)",
}


def lookup(name: str, environ: Mapping[str, str]) -> Adapter:
    """The adapter for `--adapter NAME` (Kamal's aliases included)."""
    canonical = _ALIASES.get(name.lower(), name)
    if canonical in NOT_IMPLEMENTED:
        raise CommandFailed(
            f"the {NOT_IMPLEMENTED[canonical]} secrets adapter is not supported by shipdeck yet; "
            "run `kamal secrets fetch` for it or use another source"
        )
    target = IMPLEMENTED.get(canonical)
    if target is None:
        raise CommandFailed(f"Unknown secrets adapter: {name}")
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(environ)
