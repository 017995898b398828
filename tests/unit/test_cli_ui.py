"""`shipdeck` alone and `shipdeck ui`: the dashboard in a terminal, a short usage and exit 2 without one,
bad input reported before the screen changes, and no Textual import for any other command."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import app.cli
from app.cli import ui

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _shipdeck(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [(), ("ui",), ("-d", "staging"), ("ui", "--server", "root@10.0.0.1")])
def test_without_a_terminal_a_short_usage_and_exit_2(args) -> None:
    result = _shipdeck(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: shipdeck [-c FILE] [-d DEST]")
    assert "the dashboard needs a terminal" in result.stderr
    assert len(result.stderr.splitlines()) <= 5 and "Traceback" not in result.stderr


def test_dashboard_options_before_a_command_are_refused() -> None:
    result = _shipdeck("-d", "production", "deploy")
    assert result.returncode == 2
    assert "-c and -d go after the command" in result.stderr


def test_other_commands_do_not_load_textual() -> None:
    code = ("import sys, contextlib, io, app.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()): app.cli.main(['version'])\n"
            "print('textual' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_bad_keymap_is_reported_with_file_and_line_before_the_screen_opens(tmp_path, monkeypatch, capsys) -> None:
    keymap = tmp_path / "shipdeck" / "keymap.yml"
    keymap.parent.mkdir()
    keymap.write_text("deploy: d\nlaunch: l\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(ui, "terminal", lambda: True)
    assert app.cli.main(["ui", "-c", str(tmp_path / "none.yml")]) == 2
    assert f"{keymap}:2: unknown binding id 'launch'" in capsys.readouterr().err


def test_a_missing_config_is_reported_before_the_screen_opens(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(ui, "terminal", lambda: True)
    assert app.cli.main(["-c", str(tmp_path / "missing.yml")]) == 2
    error = capsys.readouterr().err
    assert "missing.yml" in error and "Traceback" not in error


def test_a_bad_server_spec_is_reported_before_the_screen_opens(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(ui, "terminal", lambda: True)
    assert app.cli.main(["ui", "--server", "root@host:notaport"]) == 2
    assert "notaport" in capsys.readouterr().err
