"""LastPass (`lpass`), as Kamal's `last_pass` adapter drives it.

`lpass status --color never` must answer `Logged in as ACCOUNT.`, else `lpass login ACCOUNT`; then
one `lpass show NAME... --json`. Result keys are the entries' `fullname` (`Folder/Name`), values their
passwords; a name that matches no entry's fullname is an error.
"""

from __future__ import annotations

from app.rubyish import to_s
from app.secrets import rubytext
from app.secrets.adapters.base import Adapter, inspect_list, parse_json
from app.secrets.dotenv import CommandFailed


class LastPass(Adapter):
    def check_dependencies(self) -> None:
        if not self.installed("lpass", "--version"):
            raise CommandFailed("LastPass CLI is not installed")

    def login(self, account: str | None) -> str | None:
        status_line = rubytext.strip(self.run(["lpass", "status", "--color", "never"], interactive=True)[1])
        logged_in = status_line == f"Logged in as {account}."
        if not logged_in and self.run(["lpass", "login", account or ""], interactive=True)[0] != 0:
            raise CommandFailed("Failed to login to LastPass")
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        secrets = self.prefixed(secrets, from_)
        status, output = self.run(["lpass", "show", *secrets, "--json"], interactive=True)
        if status != 0:
            raise CommandFailed(f"Could not read {inspect_list(secrets)} from LastPass")
        items = parse_json(output, "lpass show")
        results: dict[str, object] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                results[to_s(item.get("fullname"))] = item.get("password")
        missing = [secret for secret in secrets if secret not in results]
        if missing:
            raise CommandFailed(f"Could not find {', '.join(missing)} in LastPass")
        return results
