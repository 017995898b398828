"""Doppler (`doppler`), as Kamal's `doppler` adapter drives it.

`doppler me --json` (else `doppler login -y`), then one `doppler secrets get NAME... --json
[-p PROJECT -c CONFIG]`; project and config come from `--from project/config` unless DOPPLER_TOKEN
is a service token (`dp.st...`). Result keys are the secret names; values the `computed` values.
"""

from __future__ import annotations

from app.secrets.adapters.base import Adapter, inspect_list, parse_json, ruby_split
from app.secrets.dotenv import CommandFailed


class Doppler(Adapter):
    requires_account = False

    def check_dependencies(self) -> None:
        if self.run(["doppler", "--version"])[0] != 0:
            raise CommandFailed("Doppler CLI is not installed")

    def login(self, account: str | None) -> str | None:
        logged_in = self.run(["doppler", "me", "--json"], quiet=True)[0] == 0
        if not logged_in and self.run(["doppler", "login", "-y"], interactive=True)[0] != 0:
            raise CommandFailed("Failed to login to Doppler")
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        secrets = self.prefixed(secrets, from_)
        names = [(ruby_split(secret, "/") or [""])[-1] for secret in secrets]
        argv = ["doppler", "secrets", "get", *names, "--json"]
        if not self.environ.get("DOPPLER_TOKEN", "").startswith("dp.st"):
            parts = ruby_split(secrets[0], "/") if secrets else []
            if len(parts) < 2:
                raise CommandFailed("Missing project or config from '--from=project/config' option")
            argv += ["-p", parts[0], "-c", parts[1]]
        status, output = self.run(argv, interactive=True)
        if status != 0:
            raise CommandFailed(f"Could not read {inspect_list(secrets)} from Doppler")
        items = parse_json(output, "doppler secrets get")
        if not isinstance(items, dict):
            raise CommandFailed("doppler secrets get returned an unexpected answer")
        return {key: value.get("computed") if isinstance(value, dict) else None for key, value in items.items()}
