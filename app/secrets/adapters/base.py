"""What every adapter shares: the `fetch` flow and running its CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from app.secrets.dotenv import CommandFailed


class Adapter:
    """`fetch` = check the CLI is installed, log in, then fetch (Kamal's `Adapters::Base#fetch`)."""

    requires_account = True
    cli_name = ""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def fetch(self, secrets: list[str], *, account: str | None, from_: str | None) -> dict[str, object]:
        self.check_dependencies()
        session = self.login(account)
        return self.fetch_secrets(secrets, account=account, from_=from_, session=session)

    def check_dependencies(self) -> None:
        raise NotImplementedError

    def login(self, account: str | None) -> str | None:
        raise NotImplementedError

    def fetch_secrets(
        self, secrets: list[str], *, account: str | None, from_: str | None, session: str | None
    ) -> dict[str, object]:
        raise NotImplementedError

    @staticmethod
    def prefixed(secrets: Sequence[str], from_: str | None) -> list[str]:
        return [f"{from_}/{secret}" if from_ is not None else secret for secret in secrets]

    def run(
        self, argv: Sequence[str], *, extra_env: Mapping[str, str] | None = None, quiet: bool = False,
        interactive: bool = False,
    ) -> tuple[int, str]:
        """Run the CLI; stdout is captured, stderr shown (or dropped when `quiet`)."""
        env = dict(self.environ)
        env.update(extra_env or {})
        try:
            completed = subprocess.run(
                list(argv), stdout=subprocess.PIPE, env=env, check=False,
                stderr=subprocess.DEVNULL if quiet else None,
                stdin=None if interactive else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            return 127, ""
        except OSError:  # not executable, bad format: as a shell reports a command it cannot run
            return 126, ""
        return completed.returncode, completed.stdout.decode("utf-8", errors="surrogateescape")

    def installed(self, *argv: str) -> bool:
        return self.run(argv, quiet=True)[0] == 0


def parse_json(text: str, what: str) -> object:
    import json

    try:
        return json.loads(text)
    except ValueError:
        raise CommandFailed(f"{what} did not return JSON") from None


def inspect_list(strings: Sequence[str]) -> str:
    """Ruby `Array#inspect` of strings, as Kamal's messages interpolate a list of names: `["a", "b"]`."""
    from app.rubyish import inspect

    return "[" + ", ".join(inspect(text) for text in strings) + "]"


def ruby_split(text: str, separator: str) -> list[str]:
    """Ruby `String#split(sep)`: trailing empty fields are dropped."""
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts
