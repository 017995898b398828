"""`shipdeck --auto [COMMAND ...]`: any command for CI, never prompting, never reading stdin, no TTY needed.

The flags of this family may stand anywhere before `--` (`shipdeck --auto deploy --junit r.xml` and
`shipdeck --junit r.xml --auto deploy` are the same); they are taken out of the argument list before the
command's own parser sees it. `shipdeck --auto` alone is `shipdeck --auto deploy`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from app.errors import UsageError

ALLOW_PROXY_REBOOT_VALUES = ("all", "rolling")
_VALUE_FLAGS = {"--junit": "junit", "--dotenv": "dotenv", "--secrets-from-env": "secrets_from_env"}
_TOP_LEVEL = ("-V", "--shipdeck-version", "--help")


class AutoFlags:
    """The `--auto` family as given (a plain class: `dataclasses` would slow down every start)."""

    def __init__(self) -> None:
        self.enabled = False
        self.junit: str | None = None
        self.dotenv: str | None = None
        self.secrets_from_env: list[str] = []
        self.allow_proxy_reboot: str | None = None  # None, "all" or "rolling"

    @property
    def any_given(self) -> bool:
        return bool(self.junit or self.dotenv or self.allow_proxy_reboot)


def split_auto_flags(argv: Sequence[str]) -> tuple[AutoFlags, list[str]]:
    """(the `--auto` family of flags, the remaining arguments); a clear UsageError for a bad one."""
    flags = AutoFlags()
    rest: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if item == "--":
            rest += items[index - 1:]
            break
        name, has_value, value = item.partition("=")
        if item == "--auto":
            flags.enabled = True
        elif name == "--allow-proxy-reboot":
            choice = value if has_value else "all"
            if choice not in ALLOW_PROXY_REBOOT_VALUES:
                raise UsageError(f"--allow-proxy-reboot={value}: expected --allow-proxy-reboot or "
                                 "--allow-proxy-reboot=rolling")
            flags.allow_proxy_reboot = choice
        elif name in _VALUE_FLAGS:
            if not has_value:
                if index >= len(items) or items[index].startswith("-"):
                    raise UsageError(f"{name} needs a value")
                value = items[index]
                index += 1
            if not value:
                raise UsageError(f"{name} needs a value")
            attribute = _VALUE_FLAGS[name]
            if attribute == "secrets_from_env":
                flags.secrets_from_env.append(value)
            else:
                setattr(flags, attribute, value)
        else:
            rest.append(item)
    if flags.any_given and not flags.enabled:
        given = [flag for flag, present in (("--junit", flags.junit), ("--dotenv", flags.dotenv),
                                            ("--allow-proxy-reboot", flags.allow_proxy_reboot)) if present]
        raise UsageError(f"{', '.join(given)} only work with --auto")
    if flags.enabled and (not rest or (rest[0].startswith("-") and rest[0] not in _TOP_LEVEL)):
        rest.insert(0, "deploy")
    return flags, rest


def detach_stdin() -> None:
    """Nothing in an `--auto` run reads stdin, not even a child process: fd 0 becomes /dev/null."""
    try:
        null = os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - replaces the process's stdin for its lifetime


def deploy(args: argparse.Namespace) -> int:
    """`shipdeck --auto deploy`: the engine's reconcile (`app.engine.auto.deploy`)."""
    from app.cli.session import run_operation
    from app.engine import auto

    flags: AutoFlags = args.auto
    options = auto.AutoOptions(allow_proxy_reboot=flags.allow_proxy_reboot, environ=dict(os.environ))
    return run_operation(args, "deploy", None, lambda run: auto.deploy(run, options))
