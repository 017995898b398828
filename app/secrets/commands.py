"""Handlers of `shipdeck secrets ...` (loaded only when one of them runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.errors import SecretsError, UsageError
from app.secrets import masking
from app.secrets.project import secrets_path_for
from app.secrets.rubytext import chomp
from app.secrets.store import Secrets


def _write_out(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.buffer.flush()


def _puts(line: str) -> str:
    """Ruby `puts`: a newline unless the text already ends with one."""
    return line if line.endswith("\n") else line + "\n"


def print_secrets(args: argparse.Namespace) -> int:
    # Like `kamal secrets print`, which loads (and so validates) the whole config first.
    from app.config import load_config

    config = load_config(config_file=args.config_file, destination=args.destination, version=args.version)
    secrets = Secrets(Path.cwd(), config.secrets_path, args.destination)
    lines = []
    for key, value in secrets.file_values().items():
        shown = value if args.reveal else (masking.MASK if value else "")
        lines.append(_puts(f"{key}={shown}"))
    _write_out("".join(lines))
    return 0


def _parse_from_env(specs: list[str]) -> dict[str, str]:
    from app.secrets.writer import check_key

    values: dict[str, str] = {}
    for spec in specs:
        name, _, variable = spec.partition("=")
        variable = variable or name
        check_key(name)
        if variable not in os.environ:
            raise UsageError(f"--from-env {spec}: environment variable {variable} is not set (nothing was written)")
        if name in values:
            raise UsageError(f"--from-env: {name} given twice")
        values[name] = os.environ[variable]
        masking.register(values[name])
    return values


def write_secrets(args: argparse.Namespace) -> int:
    from app.secrets.writer import write_secrets as write

    values = _parse_from_env(args.from_env)
    if args.file:
        label = args.file
    else:
        base = secrets_path_for(args.config_file, args.destination, required=False)
        label = f"{base}.{args.destination}" if args.destination else base
    result = write(Path(label), values, force=args.force, label=label)
    parts = [f"{verb} {', '.join(names)}" for verb, names in
             (("added", result.added), ("replaced", result.replaced), ("unchanged", result.unchanged)) if names]
    sys.stderr.write(f"{label}: {'; '.join(parts)}\n")
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
        value = chomp(sys.stdin.read())
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


__all__ = ["SecretsError", "keyring_delete", "keyring_get", "keyring_set", "print_secrets", "write_secrets"]
