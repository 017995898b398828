"""The dashboard's key bindings: one registry (id, default keys, action, description) that feeds the
App's bindings, the help screen and the command palette, and the user's keymap file that remaps them.

The keymap file is YAML under the XDG config directory (`~/.config/shipdeck/keymap.yml` unless
`$XDG_CONFIG_HOME` says otherwise), one `binding-id: keys` per line, several keys comma-separated:

    deploy: ctrl+d
    accessory-remove: delete,x
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass

from app.errors import ConfigError

OPERATIONS = "Operations"
VIEW = "View"
DIALOGS = "Dialogs"


@dataclass(frozen=True)
class KeySpec:
    id: str
    keys: str  # Textual key names, comma-separated ("d", "question_mark,f1", "ctrl+p")
    action: str
    description: str
    group: str = OPERATIONS
    show: bool = True  # in the footer
    writes: bool = False  # changes the servers: not offered in server mode (read-only)
    dialog: bool = False  # bound by a dialog screen (its BINDINGS carry this id), not by the App


KEYS: tuple[KeySpec, ...] = (
    KeySpec("deploy", "d", "deploy", "Deploy", writes=True),
    KeySpec("redeploy", "D", "redeploy", "Redeploy", show=False, writes=True),
    KeySpec("rollback", "b", "rollback", "Roll back", writes=True),
    KeySpec("app-stop", "s", "app_stop", "Stop app", show=False, writes=True),
    KeySpec("app-start", "S", "app_start", "Start app", show=False, writes=True),
    KeySpec("accessory-boot", "a", "accessory_boot", "Boot accessory", show=False, writes=True),
    KeySpec("accessory-reboot", "A", "accessory_reboot", "Reboot accessory", show=False, writes=True),
    KeySpec("accessory-remove", "x", "accessory_remove", "Remove accessory", show=False, writes=True),
    KeySpec("proxy-boot", "p", "proxy_boot", "Boot proxy", show=False, writes=True),
    KeySpec("proxy-reboot", "P", "proxy_reboot", "Reboot proxy", show=False, writes=True),
    KeySpec("lock-release", "u", "lock_release", "Release lock", show=False, writes=True),
    KeySpec("prune", "X", "prune", "Prune", show=False, writes=True),
    KeySpec("repair", "R", "repair", "Repair", writes=True),
    KeySpec("cancel-run", "c", "cancel_run", "Cancel run"),
    KeySpec("logs", "l", "open_logs", "Logs", group=VIEW),
    KeySpec("refresh", "r", "refresh", "Refresh", group=VIEW, show=False),
    KeySpec("focus-hosts", "1", "focus_panel('hosts')", "Go to hosts", group=VIEW, show=False),
    KeySpec("focus-accessories", "2", "focus_panel('accessories')", "Go to accessories", group=VIEW, show=False),
    KeySpec("focus-proxy", "3", "focus_panel('proxy')", "Go to proxy", group=VIEW, show=False),
    KeySpec("focus-activity", "4", "focus_panel('activity')", "Go to activity", group=VIEW, show=False),
    KeySpec("command-palette", "ctrl+p", "command_palette", "Commands", group=VIEW, show=False),
    KeySpec("help", "question_mark,f1", "help", "Help", group=VIEW),
    KeySpec("quit", "q,ctrl+q,ctrl+c", "quit", "Quit", group=VIEW),
    KeySpec("confirm-cancel", "escape", "cancel", "Cancel a confirmation (Tab moves, Enter presses)",
            group=DIALOGS, dialog=True),
    KeySpec("choice-cancel", "escape", "cancel", "Close a choice without choosing", group=DIALOGS, dialog=True),
    KeySpec("help-close", "escape", "close", "Close this help", group=DIALOGS, dialog=True),
)

APP_KEYS = tuple(spec for spec in KEYS if not spec.dialog)

KEYS_BY_ID = {spec.id: spec for spec in KEYS}

_KEY_NAME = re.compile(r"^(?:(?:ctrl|shift|alt|super|meta|hyper)\+)*[^\s,+]+$")


def keymap_path(environ: dict[str, str] | None = None) -> pathlib.Path:
    environ = dict(os.environ) if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "shipdeck" / "keymap.yml"


def _line_numbers(text: str) -> dict[str, int]:
    """The line of each top-level key (for error messages)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def load_keymap(path: pathlib.Path) -> dict[str, str]:
    """The user's remappings (binding id → keys); none when the file does not exist. A bad file is a
    ConfigError naming file:line (exit 2): a dashboard with keys other than the user asked for is worse
    than none."""
    import yaml

    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the keymap: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: the keymap is not valid YAML ({getattr(error, 'problem', error)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the keymap must map binding ids to keys, e.g. `deploy: ctrl+d`")
    lines = _line_numbers(text)
    keymap: dict[str, str] = {}
    owner: dict[str, str] = {}
    for binding_id, value in data.items():
        where = f"{path}:{lines.get(str(binding_id), 1)}"
        if binding_id not in KEYS_BY_ID:
            known = ", ".join(KEYS_BY_ID)
            raise ConfigError(f"{where}: unknown binding id {binding_id!r} (known: {known})")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {binding_id} needs one or more keys as text, e.g. `{binding_id}: ctrl+x`")
        keys = [key.strip() for key in value.split(",") if key.strip()]
        for key in keys:
            if not _KEY_NAME.match(key):
                raise ConfigError(f"{where}: {key!r} is not a key name (write e.g. `x`, `ctrl+x`, `f5`, `delete`)")
            if key in owner and owner[key] != binding_id:
                raise ConfigError(f"{where}: {key!r} is already bound to {owner[key]} in this file")
            owner[key] = binding_id
        keymap[binding_id] = ",".join(keys)
    return keymap


def effective_keys(keymap: dict[str, str]) -> dict[str, str]:
    """Every binding id with the keys in force (the user's where remapped)."""
    return {spec.id: keymap.get(spec.id, spec.keys) for spec in KEYS}


def display_key(keys: str) -> str:
    """`question_mark,f1` → `? / F1` for the help screen."""
    names = {"question_mark": "?", "delete": "Del", "escape": "Esc", "enter": "Enter", "space": "Space",
             "tab": "Tab"}

    def one(key: str) -> str:
        if key in names:
            return names[key]
        if re.fullmatch(r"f\d+", key):
            return key.upper()
        parts = key.split("+")
        return "+".join(part.capitalize() if len(part) > 1 else part for part in parts)

    return " / ".join(one(key) for key in keys.split(","))
