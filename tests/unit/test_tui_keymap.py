"""The user's keymap file: remaps by binding id; a bad file is an error naming file:line."""

from __future__ import annotations

import pathlib

import pytest

from app.errors import ConfigError
from app.tui.keymap import KEYS, display_key, effective_keys, keymap_path, load_keymap


def _file(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "keymap.yml"
    path.write_text(text)
    return path


def test_the_file_lives_under_the_xdg_config_directory() -> None:
    assert keymap_path({"XDG_CONFIG_HOME": "/x"}) == pathlib.Path("/x/shipdeck/keymap.yml")
    assert keymap_path({"HOME": "/home/op"}) == pathlib.Path("/home/op/.config/shipdeck/keymap.yml")


def test_no_file_no_remapping(tmp_path) -> None:
    assert load_keymap(tmp_path / "missing.yml") == {}
    assert load_keymap(_file(tmp_path, "# nothing yet\n")) == {}


def test_remaps_by_binding_id(tmp_path) -> None:
    keymap = load_keymap(_file(tmp_path, "deploy: ctrl+d\naccessory-remove: delete, x\n"))
    assert keymap == {"deploy": "ctrl+d", "accessory-remove": "delete,x"}
    keys = effective_keys(keymap)
    assert keys["deploy"] == "ctrl+d" and keys["rollback"] == "b"
    assert set(keys) == {spec.id for spec in KEYS}


@pytest.mark.parametrize(("text", "message"), [
    ("deploy: d\nlaunch: l\n", "keymap.yml:2: unknown binding id 'launch'"),
    ("deploy: 5\n", "keymap.yml:1: deploy needs one or more keys as text"),
    ("deploy: ctrl+d\nrollback: ctrl+d\n", "keymap.yml:2: 'ctrl+d' is already bound to deploy"),
    ("deploy: [d\n", "keymap.yml:1: the keymap is not valid YAML"),
    ("- deploy\n", "keymap.yml:1: the keymap must map binding ids to keys"),
    ("deploy: ctrl d\n", "keymap.yml:1: 'ctrl d' is not a key name"),
])
def test_a_bad_file_names_file_and_line(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_keymap(_file(tmp_path, text))
    assert message in str(raised.value)
    assert raised.value.exit_code == 2


def test_keys_read_as_people_write_them() -> None:
    assert display_key("question_mark,f1") == "? / F1"
    assert display_key("ctrl+p") == "Ctrl+p"
    assert display_key("q,ctrl+q,ctrl+c") == "q / Ctrl+q / Ctrl+c"


def test_binding_ids_are_unique() -> None:
    ids = [spec.id for spec in KEYS]
    assert len(ids) == len(set(ids))


def test_the_readme_lists_every_binding_id() -> None:
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    dashboard = readme.split("## Dashboard", 1)[1].split("\n## ", 1)[0]
    missing = [spec.id for spec in KEYS if f"`{spec.id}`" not in dashboard]
    assert missing == []
