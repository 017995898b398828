"""Enpass (`enpass-cli`), as Kamal's `enpass` adapter drives it.

Enpass is offline: no account and no login; `--from` is the vault's directory. A name is `Title`
(every password of that item) or `Title/Label` (one field). One `enpass-cli -json -vault VAULT show
TITLE...` call reads them all; result keys are `Title/Label` (or `Title` when the field has no label),
and only fields with a non-blank password count.
"""

from __future__ import annotations

from app.rubyish import present
from app.secrets.adapters.base import Adapter, parse_json
from app.secrets.dotenv import CommandFailed


class Enpass(Adapter):
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.installed("enpass-cli", "version"):
            raise CommandFailed("Enpass CLI is not installed")

    def login(self, account: str | None) -> str | None:
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        if from_ is None:
            raise CommandFailed("Enpass needs the vault's directory in --from")
        titles = list(dict.fromkeys(self._title(secret) for secret in secrets))
        status, output = self.run(["enpass-cli", "-json", "-vault", from_, "show", *titles], interactive=True)
        items = parse_json(output.strip(), f"enpass-cli (exit status {status})")
        results: dict[str, object] = {}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            title, label, password = item.get("title"), item.get("label"), item.get("password")
            if not isinstance(title, str) or not present(password):
                continue
            key = "/".join(part for part in (title, label) if isinstance(part, str) and part)
            if title in secrets or key in secrets:
                if key in results:
                    raise CommandFailed(f"{key} is present more than once")
                results[key] = password
        return results

    @staticmethod
    def _title(secret: str) -> str:
        """`Title/Label` → `Title`; `Title` stays (the last `/` separates the label)."""
        title, _, label = secret.rpartition("/")
        return title or label
