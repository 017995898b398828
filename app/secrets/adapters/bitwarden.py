"""Bitwarden (`bw`), as Kamal's `bitwarden` adapter drives it.

`bw status`; `bw login ACCOUNT` when unauthenticated; `bw unlock --raw` when locked (the session
goes to later calls in `BW_SESSION`); `bw sync`; then one `bw get item ITEM` per item. `Item` yields
the login password (or every custom field), `Item/field` a custom field, keyed `Item/field`.
"""

from __future__ import annotations

from app.secrets.adapters.base import Adapter, parse_json
from app.secrets.dotenv import CommandFailed


class Bitwarden(Adapter):
    def check_dependencies(self) -> None:
        if not self.installed("bw", "--version"):
            raise CommandFailed("Bitwarden CLI is not installed")

    def _bw(self, args: list[str], session: str | None = None, *, raw: bool = False) -> tuple[int, object]:
        status, output = self.run(
            ["bw", *args], extra_env={"BW_SESSION": session} if session else None, interactive=True
        )
        output = output.strip()
        return status, output if raw else parse_json(output, "bw " + args[0])

    def _status(self, session: str | None = None) -> object:
        result = self._bw(["status"], session)[1]
        return result.get("status") if isinstance(result, dict) else None

    def login(self, account: str | None) -> str | None:
        session = None
        status = self._status()
        if status == "unauthenticated":
            self._bw(["login", account or ""], raw=True)
            status = self._status()
        if status == "locked":
            session = str(self._bw(["unlock", "--raw"], raw=True)[1]) or None
            status = self._status(session)
        if status != "unlocked":
            raise CommandFailed("Failed to login to and unlock Bitwarden")
        if self._bw(["sync"], session, raw=True)[0] != 0:
            raise CommandFailed("Failed to sync Bitwarden")
        return session

    def fetch_secrets(self, secrets, *, account, from_, session):
        results: dict[str, object] = {}
        for item, fields in self._items_fields(self.prefixed(secrets, from_)).items():
            code, raw = self._bw(["get", "item", item], session, raw=True)
            if code != 0:
                raise CommandFailed(f"Could not read {item} from Bitwarden")
            item_json = parse_json(str(raw), "bw get item")
            if not isinstance(item_json, dict):
                raise CommandFailed(f"Could not read {item} from Bitwarden")
            login = item_json.get("login") if isinstance(item_json.get("login"), dict) else {}
            if fields:
                results.update(self._from_fields(fields, item, item_json))
            elif login.get("password"):
                results[item] = login["password"]
            elif item_json.get("fields"):
                names = [field.get("name") for field in item_json["fields"]]
                results.update(self._from_fields(names, item, item_json))
            else:
                raise CommandFailed(f"Item {item} is not a login type item and no fields were specified")
        return results

    @staticmethod
    def _from_fields(fields: list, item: str, item_json: dict) -> dict[str, object]:
        found: dict[str, object] = {}
        for name in fields:
            match = next((f for f in item_json.get("fields") or [] if f.get("name") == name), None)
            if match is None:
                raise CommandFailed(f"Could not find field {name or ''} in item {item} in Bitwarden")
            found[f"{item}/{name}"] = match.get("value")
        return found

    @staticmethod
    def _items_fields(secrets: list[str]) -> dict[str, list]:
        items: dict[str, list] = {}
        for secret in secrets:
            item, _, rest = secret.partition("/")
            field = rest.split("/")[0] if rest else None
            items.setdefault(item, []).append(field)
        # Ruby `[nil].any?` is false: an item named only without a field asks for the default.
        return {item: (fields if any(f is not None for f in fields) else []) for item, fields in items.items()}
