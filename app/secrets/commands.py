"""Handlers of `shipdeck secrets ...` (loaded only when one of them runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.errors import SecretsError, UsageError
from app.secrets import masking, rubytext
from app.secrets.dotenv import CommandFailed
from app.secrets.project import secrets_path_for
from app.secrets.store import DEFAULT_SECRETS_PATH, Secrets


def _write_out(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.buffer.flush()


def _puts(line: str) -> str:
    """Ruby `puts`: a newline unless the text already ends with one."""
    return line if line.endswith("\n") else line + "\n"


def print_secrets(args: argparse.Namespace) -> int:
    """`kamal secrets print`: the whole config is loaded and validated first, as Kamal does."""
    from app.config import load_config

    config = load_config(config_file=args.config_file, destination=args.destination, version=args.version)
    secrets = Secrets(config.project_dir, config.secrets_path, config.destination)
    lines = []
    for key, value in secrets.file_values().items():
        shown = value if args.reveal else (masking.MASK if value else "")
        lines.append(_puts(f"{key}={shown}"))
    _write_out("".join(lines))
    return 0


def _from_env_values(specs: list[str]) -> dict[str, str]:
    from app.secrets.env_source import parse_specs

    values: dict[str, str] = {}
    for name, variable in parse_specs(specs, "--from-env").items():
        if variable not in os.environ:
            spec = name if variable == name else f"{name}={variable}"
            raise UsageError(f"--from-env {spec}: environment variable {variable} is not set (nothing was written)")
        values[name] = os.environ[variable]
        masking.register(values[name])
    return values


def write_secrets(args: argparse.Namespace) -> int:
    from app.secrets.writer import write_secrets as write

    values = _from_env_values(args.from_env)
    if args.file:
        label = args.file
    else:
        _check_destination(args.destination)
        base = secrets_path_for(args.config_file, args.destination, required=False)
        label = f"{base}.{args.destination}" if args.destination else base
    result = write(Path(label), values, force=args.force, label=label)
    parts = [f"{verb} {', '.join(names)}" for verb, names in
             (("added", result.added), ("replaced", result.replaced), ("unchanged", result.unchanged)) if names]
    sys.stderr.write(f"{label}: {'; '.join(parts)}\n")
    return 0


def _check_destination(destination: str | None) -> None:
    if destination is not None and (not destination or "/" in destination or "\0" in destination):
        raise UsageError(f"invalid destination {destination!r}: the secrets file would be "
                         f"{DEFAULT_SECRETS_PATH}.{destination}")


def fetch_secrets(args: argparse.Namespace) -> int:
    """`kamal secrets fetch`: the adapter's results as JSON (`--inline`: nothing, as Kamal's CLI)."""
    from app.secrets import adapters, inline

    try:
        adapter = adapters.lookup(args.adapter, os.environ)
    except CommandFailed as error:
        raise UsageError(str(error)) from None
    if adapter.requires_account and rubytext.is_blank(args.account):
        raise UsageError("No value provided for required options '--account'")
    try:
        results = adapter.fetch(args.names, account=args.account, from_=args.from_)
    except CommandFailed as error:
        raise SecretsError(f"secrets fetch --adapter {args.adapter}: {error}") from None
    for value in results.values():
        if isinstance(value, str):
            masking.register(value)
    if not args.inline:
        _write_out(_puts(inline.json_dump(results)))
    return 0


def extract_secret(args: argparse.Namespace) -> int:
    """`kamal secrets extract NAME JSON`: the value, printed as Ruby's `puts` prints it."""
    from app.secrets import inline

    try:
        value = inline.find(args.name, args.secrets_json)
    except CommandFailed as error:
        raise SecretsError(f"secrets extract: {error}") from None
    if not args.inline:
        _write_out(rubytext.puts(value))
    return 0


def _check_name(name: str) -> None:
    from app.secrets.writer import check_key

    check_key(name)


def _read_value(name: str) -> str:
    if sys.stdin is None:
        raise UsageError("no stdin to read the value from")
    if sys.stdin.isatty():
        import getpass

        try:
            value = getpass.getpass(f"Value for {name} (hidden): ")
        except EOFError:
            raise UsageError("no value given; nothing was stored") from None
    else:
        value = rubytext.chomp(sys.stdin.read())
    if not value:
        raise UsageError("empty value; nothing was stored")
    return value


def keyring_set(args: argparse.Namespace) -> int:
    from app.secrets import keyring_store

    _check_name(args.name)
    value = _read_value(args.name)
    masking.register(value)
    keyring_store.store(args.name, value)
    sys.stderr.write(f"stored {args.name} in the keyring (service {keyring_store.SERVICE})\n")
    return 0


def keyring_get(args: argparse.Namespace) -> int:
    from app.secrets import keyring_store

    _check_name(args.name)
    value = keyring_store.fetch(args.name)
    masking.register(value)
    _write_out(_puts(value))
    return 0


def keyring_delete(args: argparse.Namespace) -> int:
    from app.secrets import keyring_store

    _check_name(args.name)
    keyring_store.remove(args.name)
    sys.stderr.write(f"deleted {args.name} from the keyring\n")
    return 0


__all__ = ["extract_secret", "fetch_secrets", "keyring_delete", "keyring_get", "keyring_set", "print_secrets",
           "write_secrets"]
