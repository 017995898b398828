"""`kamal secrets fetch|extract ...` inside `$(...)`, run in-process as Kamal does.

Kamal runs these commands through its own CLI with `--inline` appended: `fetch` returns the JSON
results shell-escaped (so that `$(kamal secrets extract NAME $SECRETS)` survives `shellsplit`), and
`extract` returns the bare value. Options are parsed the way Thor parses them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.secrets import rubytext
from app.secrets.dotenv import CommandFailed

# Kamal's global options: accepted and ignored inside `.kamal/secrets` commands.
_GLOBAL_FLAGS = {"-v", "--verbose", "-q", "--quiet", "-p", "--primary", "-H", "--skip-hooks"}
_GLOBAL_VALUES = {"--version", "-h", "--hosts", "-r", "--roles", "-c", "--config-file", "-d", "--destination"}


@dataclass
class ParsedArgs:
    positional: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)


def parse_thor(argv: list[str], value_options: dict[str, str], flag_options: dict[str, str]) -> ParsedArgs:
    """Split argv into positionals and options (names map aliases to the canonical option name)."""
    parsed = ParsedArgs()
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("-") or arg == "-":
            parsed.positional.append(arg)
            continue
        name, has_value, inline_value = arg.partition("=")
        if name.startswith("--no-") or name.startswith("--skip-"):
            base = "--" + name.split("-", 3)[-1]
            if base in flag_options:
                parsed.options[flag_options[base]] = False
                continue
        if name in flag_options:
            parsed.options[flag_options[name]] = True
        elif name in value_options:
            if has_value:
                value = inline_value
            elif index < len(argv) and not argv[index].startswith("-"):
                value = argv[index]
                index += 1
            else:
                raise CommandFailed(f"No value provided for option '{name}'")
            parsed.options[value_options[name]] = value
        elif name in _GLOBAL_FLAGS:
            continue
        elif name in _GLOBAL_VALUES:
            if not has_value and index < len(argv) and not argv[index].startswith("-"):
                index += 1
        else:
            raise CommandFailed(f"Unknown switch {name!r}")
    return parsed


def json_dump(value: object) -> str:
    """Ruby `JSON.dump`: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _reject_constant(name: str) -> object:
    raise ValueError(f"unexpected token {name!r}")


def find(name: str, secrets_json: str) -> object:
    """`kamal secrets extract NAME JSON`: the exact key, else the first key ending in `/NAME` (any JSON value)."""
    try:
        parsed = json.loads(secrets_json, parse_constant=_reject_constant)
    except ValueError as error:
        raise CommandFailed(f"the JSON given to extract does not parse: {error}") from None
    if not isinstance(parsed, dict):
        raise CommandFailed(f"Could not find secret {name}")
    value = parsed.get(name)
    if value is None or value is False:
        value = next((v for k, v in parsed.items() if k.endswith(f"/{name}")), None)
    if value is None:
        raise CommandFailed(f"Could not find secret {name}")
    return value


def extract(name: str, secrets_json: str) -> str:
    """`extract` inside `.kamal/secrets`: only a string value can become a secret's text."""
    value = find(name, secrets_json)
    if not isinstance(value, str):
        raise CommandFailed(f"kamal secrets extract: the value of {name} is not a string")
    return value


def fetch(argv: list[str], environ: Mapping[str, str]) -> str:
    """`kamal secrets fetch ... --inline`: shell-escaped JSON of the adapter's results."""
    from app.secrets import adapters

    parsed = parse_thor(
        argv,
        {"-a": "adapter", "--adapter": "adapter", "--account": "account", "--from": "from"},
        {"--inline": "inline"},
    )
    adapter_name = parsed.options.get("adapter")
    if not isinstance(adapter_name, str):
        raise CommandFailed("No value provided for required options '--adapter'")
    adapter = adapters.lookup(adapter_name, environ)
    account = parsed.options.get("account")
    account = account if isinstance(account, str) else None
    if adapter.requires_account and rubytext.is_blank(account):
        raise CommandFailed("No value provided for required options '--account'")
    from_ = parsed.options.get("from")
    results = adapter.fetch(parsed.positional, account=account, from_=from_ if isinstance(from_, str) else None)
    return rubytext.shellescape(json_dump(results))


def run(argv: list[str], environ: Mapping[str, str]) -> str:
    """Run `kamal <argv>` for the `secrets` commands Kamal runs in-process."""
    if argv[:1] != ["secrets"] or len(argv) < 2:
        command = " ".join(argv[:1])
        raise CommandFailed(f"only `kamal secrets fetch|extract` can run inside .kamal/secrets, not `kamal {command}`")
    subcommand, rest = argv[1], argv[2:]
    if subcommand == "fetch":
        return fetch(rest, environ)
    if subcommand == "extract":
        parsed = parse_thor(rest, {}, {"--inline": "inline"})
        if len(parsed.positional) != 2:
            arguments = json_dump(parsed.positional)
            raise CommandFailed(f'"kamal secrets extract" was called with arguments {arguments}')
        return extract(*parsed.positional)
    if subcommand == "print":
        raise CommandFailed('"kamal secrets print" was called with arguments ["--inline"]')
    raise CommandFailed(f'Could not find command "{subcommand}" in "secrets" namespace.')



