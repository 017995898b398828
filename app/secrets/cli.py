"""Arguments of the `shipdeck secrets` command group (imports nothing heavy)."""

from __future__ import annotations

import argparse

_HANDLERS = "app.secrets.commands"


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    secrets = subparsers.add_parser(
        "secrets", help="show, write and store secrets (Kamal's .kamal/secrets files, the OS keyring)",
        description="Kamal's secrets files, read exactly as Kamal reads them, plus the OS keyring.",
    )
    commands = secrets.add_subparsers(dest="secrets_command", metavar="SUBCOMMAND", required=True)
    _add_print(commands, common)
    _add_fetch(commands, common)
    _add_extract(commands, common)
    _add_write(commands, common)
    _add_keyring(commands)


def _add_print(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "print", parents=[common], add_help=False,
        help="print the secrets Kamal would load (values masked unless --reveal)",
        description="Print KEY=value for every secret in the secrets files, merged as Kamal merges "
        "them. Values are masked unless --reveal is given, which prints exactly what `kamal secrets "
        "print` prints.",
    )
    parser.add_argument("--reveal", action="store_true", help="show the values")
    parser.set_defaults(handler=f"{_HANDLERS}:print_secrets")


def _add_fetch(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "fetch", parents=[common], add_help=False,
        help="fetch secrets from a password manager, as `kamal secrets fetch` does (JSON)",
        description="Run the password manager's CLI exactly as Kamal's adapter does and print the results "
        "as JSON, byte for byte like `kamal secrets fetch`. Adapters: 1password, bitwarden, bitwarden-sm, "
        "lastpass, aws_secrets_manager, gcp, doppler, enpass, passbolt, test.",
    )
    parser.add_argument("-a", "--adapter", required=True, metavar="ADAPTER", help="which vault adapter to use")
    parser.add_argument("--account", metavar="ACCOUNT", help="the account identifier or username")
    parser.add_argument("--from", dest="from_", metavar="FROM", help="a vault or folder to fetch the secrets from")
    parser.add_argument("--inline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("names", nargs="*", metavar="SECRET", help="secrets to fetch")
    parser.set_defaults(handler=f"{_HANDLERS}:fetch_secrets")


def _add_extract(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "extract", parents=[common], add_help=False,
        help="extract a single secret from the results of a fetch call",
        description="Print the value of NAME (or of the first key ending in /NAME) from the JSON that "
        "`secrets fetch` printed, as `kamal secrets extract` does.",
    )
    parser.add_argument("--inline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("secrets_json", metavar="JSON")
    parser.set_defaults(handler=f"{_HANDLERS}:extract_secret")


def _add_write(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "write", parents=[common], add_help=False,
        help="write secrets from environment variables into .kamal/secrets (Kamal reads them back exactly)",
        description="Write secrets taken from environment variables into the secrets file (mode 0600, "
        "atomically), encoded so that Kamal reads back exactly the original value. Other keys in the "
        "file are kept; changing an existing key needs --force.",
    )
    parser.add_argument("--from-env", dest="from_env", action="extend", nargs="+", required=True,
                        metavar="NAME[=ENVVAR]", help="secret NAME from environment variable ENVVAR (default: "
                        "NAME); several may follow one flag, and the flag may repeat")
    parser.add_argument("--file", metavar="PATH", help="file to write (default: the secrets_path file, "
                        "or its .DEST variant with -d)")
    parser.add_argument("--force", action="store_true", help="replace keys that already have another value")
    parser.set_defaults(handler=f"{_HANDLERS}:write_secrets")


def _add_keyring(commands: argparse._SubParsersAction) -> None:
    set_parser = commands.add_parser(
        "set", help="store a secret in the OS keyring (value from stdin or a hidden prompt)",
        description="Store NAME in the OS keyring (service 'shipdeck'). The value is read from stdin "
        "when it is not a terminal (one trailing newline dropped), else from a hidden prompt; it is "
        "never taken from the command line.",
    )
    set_parser.add_argument("name", metavar="NAME")
    set_parser.set_defaults(handler=f"{_HANDLERS}:keyring_set")
    get_parser = commands.add_parser("get", help="print a secret stored in the OS keyring")
    get_parser.add_argument("name", metavar="NAME")
    get_parser.set_defaults(handler=f"{_HANDLERS}:keyring_get")
    delete_parser = commands.add_parser("delete", help="remove a secret from the OS keyring")
    delete_parser.add_argument("name", metavar="NAME")
    delete_parser.set_defaults(handler=f"{_HANDLERS}:keyring_delete")
