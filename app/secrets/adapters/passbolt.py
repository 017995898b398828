"""Passbolt (`passbolt`, go-passbolt-cli), as Kamal's `passbolt` adapter drives it.

No account: `passbolt verify` checks the configured login. A name is `Secret` or `Folder/.../Secret`.
The folders named are looked up first (`passbolt list folders --filter 'Name == "A" || ...' --json`,
then one call per nested level with `FolderParentID`); then one `passbolt list resources --filter
'...' --folder ID... --json` reads every secret. Result keys are the resources' names.

The filter expressions are built exactly as Kamal builds them: each name is shell-escaped and then
written as a Ruby string literal, and the whole expression travels between single quotes in Kamal's
shell command. The resulting argument is passed here as it arrives from that shell; a name whose
escaped form contains a single quote would break Kamal's command, so it is refused.
"""

from __future__ import annotations

from app.rubyish import inspect, to_s
from app.secrets import rubytext
from app.secrets.adapters.base import Adapter, inspect_list, parse_json, ruby_split
from app.secrets.dotenv import CommandFailed

Folder = dict


def _literal(name: str) -> str:
    """A name as Kamal writes it into a filter: `name.shellescape.inspect`."""
    literal = inspect(rubytext.shellescape(name))
    if "'" in literal:
        raise CommandFailed(f"Passbolt: {name!r} cannot be passed in Kamal's single-quoted --filter")
    return literal


def _in_folder(name: str, folder: Folder) -> str:
    return f"Name == {_literal(name)} && FolderParentID == {_literal(to_s(folder.get('id')))}"


def _parts(secret: str) -> list[str]:
    parts = ruby_split(secret, "/")
    if not parts or ("/" in secret and len(parts) < 2):
        raise CommandFailed(f"Passbolt: {secret!r} names no secret")
    return parts


def _unique(items: list) -> list:
    unique: list = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return unique


def folder_path(folder: Folder, folders: list[Folder]) -> str:
    """The folder's path (`A/B/C`) through the parents found among `folders`."""
    path = [to_s(folder.get("name"))]
    seen = {id(folder)}
    while to_s(folder.get("folder_parent_id")):
        parent = next((f for f in folders if f.get("id") == folder.get("folder_parent_id")), None)
        if parent is None or id(parent) in seen:
            break
        seen.add(id(parent))
        path.insert(0, to_s(parent.get("name")))
        folder = parent
    return "/".join(path)


class Passbolt(Adapter):
    requires_account = False

    def check_dependencies(self) -> None:
        if not self.installed("passbolt", "--version"):
            raise CommandFailed("Passbolt CLI is not installed")

    def login(self, account: str | None) -> str | None:
        if self.run(["passbolt", "verify"], interactive=True)[0] != 0:
            raise CommandFailed("Failed to login to Passbolt")
        return None

    def fetch_secrets(self, secrets, *, account, from_, session):
        secrets = self.prefixed(secrets, from_)
        if not secrets:
            raise CommandFailed("No secrets given to fetch")
        names = [_parts(secret)[-1] for secret in secrets]
        folders = self._folders(secrets)
        conditions = []
        for secret in secrets:
            parts = _parts(secret)
            if len(parts) == 1:
                conditions.append(f"Name == {_literal(parts[0])}")
                continue
            folder = None
            for depth in range(1, len(parts)):
                path = "/".join(parts[:depth])
                folder = next((f for f in folders if folder_path(f, folders) == path), folder)
            if folder is not None:
                conditions.append(f"({_in_folder(parts[-1], folder)})")
        argv = ["passbolt", "list", "resources"]
        if conditions:
            argv += ["--filter", " || ".join(conditions)]
        for folder in folders:
            argv += ["--folder", to_s(folder.get("id"))]
        status, output = self.run([*argv, "--json"], interactive=True)
        if status != 0:
            raise CommandFailed(f"Could not read {inspect_list(secrets)} from Passbolt")
        items = self._list(output, "passbolt list resources")
        found = [item.get("name") for item in items]
        missing = [name for name in names if name not in found]
        if missing:
            raise CommandFailed(f"Could not find the following secrets in Passbolt: {', '.join(missing)}")
        return {to_s(item.get("name")): item.get("password") for item in items}

    def _folders(self, secrets: list[str]) -> list[Folder]:
        """Every folder the names go through, parents first; an error naming any that is missing."""
        paths = _unique([_parts(secret)[:-1] for secret in secrets if "/" in secret])
        if not paths:
            return []
        parents_filter = " || ".join(f"Name == {_literal(name)}" for name in _unique([path[0] for path in paths]))
        status, output = self._list_folders(parents_filter)
        if status != 0:
            raise CommandFailed("Could not read folders from Passbolt")
        parents = self._list(output, "passbolt list folders")
        folders = list(parents)
        for path in paths:
            current = next((f for f in parents if f.get("name") == path[0]), None) if len(path) > 1 else None
            if current is None:
                continue
            for name in path[1:]:
                status, output = self._list_folders(_in_folder(name, current))
                if status != 0:
                    continue
                nested = self._list(output, "passbolt list folders")
                if not nested:
                    break
                folders.extend(nested)
                current = nested[0]
        found = [folder_path(folder, folders) for folder in folders]
        missing = ["/".join(path) for path in paths if "/".join(path) not in found]
        if missing:
            raise CommandFailed(f"Could not find the following folders in Passbolt: {', '.join(missing)}")
        return folders

    def _list_folders(self, filter_expression: str) -> tuple[int, str]:
        return self.run(["passbolt", "list", "folders", "--filter", filter_expression, "--json"], interactive=True)

    @staticmethod
    def _list(output: str, what: str) -> list[dict]:
        items = parse_json(output, what)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise CommandFailed(f"{what} returned an unexpected answer")
        return items
