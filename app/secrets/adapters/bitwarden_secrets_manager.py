"""Bitwarden Secrets Manager (`bws`), as Kamal's `bitwarden_secrets_manager` adapter drives it.

No account: `bws` authenticates with `BWS_ACCESS_TOKEN`, checked by `bws project list`. The names are
either secret UUIDs (one `bws secret get UUID` each), or a single `all` (`bws secret list`) or
`PROJECT/all` (`bws secret list PROJECT`). Result keys are the secrets' `key` fields.
"""

from __future__ import annotations

from app.secrets.adapters.base import Adapter, parse_json, ruby_split
from app.secrets.dotenv import CommandFailed

_ALL = "all"
_ALL_OF_PROJECT = "/all"


class BitwardenSecretsManager(Adapter):
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.installed("bws", "--version"):
            raise CommandFailed("Bitwarden Secrets Manager CLI is not installed")

    def login(self, account: str | None) -> str | None:
        if self.run(["bws", "project", "list"], interactive=True)[0] != 0:
            raise CommandFailed(
                "Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token?"
            )
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        if not secrets:
            raise CommandFailed("You must specify what to retrieve from Bitwarden Secrets Manager")
        secrets = self.prefixed(secrets, from_)
        list_argv = self._list_argv(secrets)
        results: dict[str, object] = {}
        if list_argv is None:
            for secret_id in secrets:
                status, output = self.run(["bws", "secret", "get", secret_id], interactive=True)
                if status != 0:
                    raise CommandFailed(f"Could not read {secret_id} from Bitwarden Secrets Manager")
                self._add(results, parse_json(output, "bws secret get"))
            return results
        status, output = self.run(list_argv, interactive=True)
        if status != 0:
            raise CommandFailed("Could not read secrets from Bitwarden Secrets Manager")
        items = parse_json(output, "bws secret list")
        for item in items if isinstance(items, list) else [items]:
            self._add(results, item)
        return results

    @staticmethod
    def _list_argv(secrets: list[str]) -> list[str] | None:
        """`bws secret list [PROJECT]` for a single `all` or `PROJECT/all`; None for secret ids."""
        if len(secrets) != 1:
            return None
        if secrets[0] == _ALL:
            return ["bws", "secret", "list"]
        if secrets[0].endswith(_ALL_OF_PROJECT):
            project = ruby_split(secrets[0], _ALL_OF_PROJECT)
            if not project:
                raise CommandFailed(f"Bitwarden Secrets Manager: no project before /all in {secrets[0]!r}")
            return ["bws", "secret", "list", project[0]]
        return None

    @staticmethod
    def _add(results: dict[str, object], item: object) -> None:
        if not isinstance(item, dict) or "key" not in item:
            raise CommandFailed("bws returned a secret without a key")
        results[str(item["key"])] = item.get("value")
