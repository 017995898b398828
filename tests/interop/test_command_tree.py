"""Every command and option of Kamal 2.11 (as `kamal help` prints them) exists in shipdeck's command line,
and Kamal's spellings parse to what they mean."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.cli import build_parser
from app.cli.commands.app import env_option
from app.cli.meta import subcommands
from app.cli.session import default_confirmer
from app.engine.confirm import ApproveAll, FlagConfirmer

# Commands shipdeck has under another form on purpose (README, "Kamal's whole command line"); none today.
DEPARTURES: dict[tuple[str, ...], str] = {}


def kamal(*args: str, check: bool = True) -> str:
    result = subprocess.run([sys.executable, "-m", "kamal", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 or not check, result.stderr
    return result.stdout


def listed_commands(help_text: str, prefix: str) -> list[str]:
    """The commands a Thor help lists (`kamal app boot  # ...`), without `help` and `tree`."""
    found = []
    for line in help_text.splitlines():
        match = re.match(rf"\s+kamal {re.escape(prefix)}(\S+)", line)
        if match and match.group(1) not in ("help", "tree"):
            found.append(match.group(1))
    return found


def listed_options(help_text: str) -> set[str]:
    """Every option spelling in a Thor command help: `-y`, `--confirmed`, `--no-confirmed`, `--skip-confirmed`."""
    options: set[str] = set()
    section = help_text.split("Options:", 1)[1] if "Options:" in help_text else ""
    for line in section.splitlines():
        options.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", line.split("#", 1)[0]))
    return options


@pytest.fixture(scope="module")
def kamal_tree() -> dict[tuple[str, ...], set[str]]:
    """(group, command) or (command,) → the options Kamal's help lists for it."""
    top = listed_commands(kamal("help"), "")
    # `kamal NAME help` lists a group's commands; for a plain command it fails (and lists nothing)
    with ThreadPoolExecutor(4) as pool:
        listings = list(pool.map(lambda name: kamal(name, "help", check=False), top))
    groups = {name: listed_commands(text, f"{name} ") for name, text in zip(top, listings, strict=True)}
    jobs = [((name,), ("help", name)) for name in top if not groups[name]]
    jobs += [((group, name), (group, "help", name)) for group, names in groups.items() for name in names]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda job: kamal(*job[1]), jobs))
    tree = {path: listed_options(text) for (path, _), text in zip(jobs, texts, strict=True)}
    assert len(tree) > 60 and ("app", "exec") in tree and ("proxy", "reboot") in tree  # the parse found them
    return tree


def shipdeck_command(path: tuple[str, ...]) -> argparse.ArgumentParser | None:
    parser: argparse.ArgumentParser | None = build_parser()
    for name in path:
        parser = subcommands(parser).get(name) if parser is not None else None
    return parser


def test_every_kamal_command_exists(kamal_tree) -> None:
    missing = [" ".join(path) for path in kamal_tree if path not in DEPARTURES and shipdeck_command(path) is None]
    assert not missing, f"Kamal commands shipdeck lacks: {missing}"


def test_every_kamal_option_of_every_command_is_accepted(kamal_tree) -> None:
    gaps = {}
    for path, options in kamal_tree.items():
        parser = shipdeck_command(path)
        if parser is None:
            continue
        mine = {option for action in parser._actions for option in action.option_strings}
        if options - mine:
            gaps[" ".join(path)] = sorted(options - mine)
    assert not gaps, f"Kamal options shipdeck rejects: {gaps}"


def test_groups_have_help_and_tree_like_kamal() -> None:
    for group in ("app", "accessory", "build", "proxy", "lock", "prune", "registry", "secrets", "server"):
        names = subcommands(shipdeck_command((group,)))
        assert "help" in names and "tree" in names, group


# -- Kamal's spellings mean what they mean in Kamal ------------------------------------------------

def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_thor_negations_turn_a_switch_off() -> None:
    assert parse("deploy", "-v").verbose is True
    assert parse("deploy", "-v", "--no-verbose").verbose is False
    assert parse("deploy", "-v", "--skip-verbose").verbose is False
    assert parse("proxy", "reboot", "--rolling", "--no-rolling").rolling is False
    assert parse("app", "exec", "-i", "--skip-interactive", "ls").interactive is False


def test_dash_y_answers_yes_outside_auto_only() -> None:
    args = parse("proxy", "reboot", "-y")
    assert args.confirmed is True
    args.auto = None
    assert isinstance(default_confirmer(args), ApproveAll)
    args.auto = argparse.Namespace(enabled=True)
    assert isinstance(default_confirmer(args), FlagConfirmer)
    assert parse("accessory", "remove", "db", "--confirmed").confirmed is True


def test_exec_env_takes_kamals_key_value_and_the_equals_form() -> None:
    args = parse("app", "exec", "-e", "RAILS_ENV:production", "-e", "URL=http://x:1/a", "bin/rails", "c")
    assert env_option(args.env) == {"RAILS_ENV": "production", "URL": "http://x:1/a"}
    assert env_option(["DATABASE_URL:postgres://u:p@h/db"]) == {"DATABASE_URL": "postgres://u:p@h/db"}


def test_logs_skip_timestamps_and_container_id() -> None:
    args = parse("app", "logs", "-T", "--container-id", "abc123")
    assert args.skip_timestamps is True and args.container_id == "abc123"
    assert parse("proxy", "logs", "--skip-timestamps").skip_timestamps is True


@pytest.mark.parametrize("value", ["bogus", "proxy.reboot", ":db", "proxy.reboot:", "a b:c"])
def test_a_malformed_confirm_is_a_usage_error(value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parse("proxy", "reboot", f"--confirm={value}")
    assert exited.value.code == 2
    assert "ACTION:TARGET" in capsys.readouterr().err


def test_help_and_tree_print_the_command_line(capsys) -> None:
    from app.cli import main

    assert main(["help", "proxy", "boot_config"]) == 0
    assert "--image-version" in capsys.readouterr().out
    assert main(["build", "tree"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("shipdeck:build\n") and "├─ dev (" in out and "├─ create (" in out
    assert main(["help", "nosuch"]) == 2
    assert "Could not find command 'nosuch'" in capsys.readouterr().err


def test_kamal_1_migrations_say_what_to_do(capsys) -> None:
    from app.cli import main

    assert main(["upgrade", "-y", "--rolling"]) == 2
    assert "kamal upgrade" in capsys.readouterr().err
    assert main(["accessory", "upgrade", "-y"]) == 2
    assert "kamal accessory upgrade" in capsys.readouterr().err
