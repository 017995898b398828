"""1Password (`op`), as Kamal's `one_password` adapter drives it.

Secret refs are `Vault/Item[/section]/field` (default field `password`, `op://` prefix allowed),
grouped per vault and item into one `op item get ITEM --vault V --format json --account A
[--session S] --fields label=f1,label=f2` call. Result keys are the field references without `op://`
and without a trailing `/password`. With no names, every field of `--from Vault/Item` is returned.
"""

from __future__ import annotations

from app.secrets.adapters.base import Adapter, parse_json, ruby_split
from app.secrets.dotenv import CommandFailed


class OnePassword(Adapter):
    def check_dependencies(self) -> None:
        if not self.installed("op", "--version"):
            raise CommandFailed("1Password CLI is not installed")

    def login(self, account: str | None) -> str | None:
        if self.run(["op", "account", "get", "--account", account or ""], quiet=True)[0] == 0:
            return None
        status, output = self.run(["op", "signin", "--account", account or "", "--force", "--raw"], interactive=True)
        if status != 0:
            raise CommandFailed("Failed to login to 1Password")
        # Kamal passes the raw output on, newline included; op wants the bare token.
        return output.strip() or None

    def fetch_secrets(self, secrets, *, account, from_, session):
        if not secrets:
            return self._fetch_all(from_ or "", account=account, session=session)
        results: dict[str, object] = {}
        for vault, items in self._vaults_items_fields(self.prefixed(secrets, from_)).items():
            for item, fields in items.items():
                fields_json = parse_json(self._item_get(vault, item, fields, account, session), "op item get")
                for field_json in [fields_json] if len(fields) == 1 else list(fields_json):  # type: ignore[arg-type]
                    self._add(results, field_json)
        return results

    def _fetch_all(self, from_: str, *, account, session) -> dict[str, object]:
        parts = ruby_split(from_.removeprefix("op://"), "/")
        if len(parts) < 2:
            raise CommandFailed("1Password: fetching every field needs --from Vault/Item")
        vault, item = parts[0], parts[1]
        item_json = parse_json(self._item_get(vault, item, None, account, session), "op item get")
        results: dict[str, object] = {}
        for field_json in item_json.get("fields", []) if isinstance(item_json, dict) else []:
            self._add(results, field_json)
        return results

    @staticmethod
    def _add(results: dict[str, object], field_json: object) -> None:
        if not isinstance(field_json, dict) or not isinstance(field_json.get("reference"), str):
            raise CommandFailed("op item get returned a field without a reference")
        reference = field_json["reference"].removeprefix("op://").removesuffix("/password")
        results[reference] = field_json.get("value")

    @staticmethod
    def _vaults_items_fields(secrets: list[str]) -> dict[str, dict[str, list[str]]]:
        vaults: dict[str, dict[str, list[str]]] = {}
        for secret in secrets:
            parts = ruby_split(secret.removeprefix("op://"), "/")
            if len(parts) < 2:
                raise CommandFailed(f"1Password secret {secret!r} needs the form Vault/Item[/field]")
            vault, item, fields = parts[0], parts[1], parts[2:] or ["password"]
            vaults.setdefault(vault, {}).setdefault(item, []).append(".".join(fields))
        return vaults

    def _item_get(self, vault: str, item: str, fields: list[str] | None, account, session) -> str:
        argv = ["op", "item", "get", item, "--vault", vault, "--format", "json", "--account", account or ""]
        if session:
            argv += ["--session", session]
        if fields:
            argv += ["--fields", ",".join(f"label={field}" for field in fields)]
        status, output = self.run(argv, interactive=True)
        if status != 0:
            raise CommandFailed(f"Could not read from {item} in the {vault} 1Password vault")
        return output
