"""The `shipdeck` command line.

Start-up must stay fast (`shipdeck --help` and `shipdeck config` in well under 0.3 s), so this
module imports only argparse; each command's code is imported when that command runs. Command
groups register themselves from small `cli.py` modules that import nothing heavy either.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from app import __version__
from app.cli import meta
from app.errors import EXIT_USAGE, ShipdeckError

# Handlers of the commands that connect to servers (see app.remote.preload).
NETWORK_HANDLERS = ("app.cli.commands.", "app.cli.ui:", "app.cli.auto:")

# Each module provides `register(subparsers, common)`; order is the order of `--help`.
COMMAND_MODULES = (
    "app.config.cli",
    "app.secrets.cli",
    "app.cli.engine_commands",
    "app.cli.doctor",
    "app.cli.logs_args",
    "app.headless.cli",
    "app.sandbox.cli",
    "app.cli.ui",
    "app.cli.meta",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one clear line, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def common_options() -> argparse.ArgumentParser:
    """Kamal's global options, shared by every command that reads the deploy config.

    Kamal uses `-h` for `--hosts`, so these parsers offer `--help` only.
    """
    common = ArgumentParser(add_help=False)
    group = common.add_argument_group("Kamal options")
    group.add_argument("-c", "--config-file", default="config/deploy.yml", metavar="FILE",
                       help="path to the deploy config (default: config/deploy.yml)")
    group.add_argument("-d", "--destination", metavar="DEST", help="destination: also load config/deploy.DEST.yml")
    group.add_argument("--version", dest="version", metavar="VERSION", help="the app version (default: git HEAD)")
    group.add_argument("-v", "--verbose", action="store_true", help="show more detail")
    group.add_argument("-q", "--quiet", action="store_true", help="show less detail")
    group.add_argument("-p", "--primary", action="store_true", help="run on the primary host only")
    group.add_argument("-h", "--hosts", metavar="HOSTS", help="comma-separated hosts (wildcards allowed)")
    group.add_argument("-r", "--roles", metavar="ROLES", help="comma-separated roles (wildcards allowed)")
    group.add_argument("-H", "--skip-hooks", action="store_true", help="do not run .kamal/hooks")
    group.add_argument("--help", action="help", help="show this help and exit")
    return common


def _auto_help(parser: argparse.ArgumentParser) -> None:
    """The `--auto` family for --help (they are taken out of the arguments before parsing: app.cli.auto)."""
    group = parser.add_argument_group(
        "CI (--auto: never prompts, never reads stdin; exit 0 done, 1 a step failed, 2 config or usage, "
        "3 connection or authentication, 4 lock held, 5 a confirmation or --allow-* flag is needed, 130 interrupted)")
    group.add_argument("--auto", action="store_true", help="run COMMAND (default: deploy) headless for CI")
    group.add_argument("--junit", metavar="FILE", help="write a JUnit report (a test case per step and host)")
    group.add_argument("--dotenv", metavar="FILE",
                       help="write SHIPDECK_VERSION, SHIPDECK_URL and DYNAMIC_ENVIRONMENT_URL")
    group.add_argument("--secrets-from-env", metavar="NAME[=ENVVAR]", action="append",
                       help="take secret NAME from the environment (variable ENVVAR); repeatable")
    group.add_argument("--allow-proxy-reboot", metavar="rolling", nargs="?", const="all",
                       help="reboot a kamal-proxy older than Kamal's minimum (=rolling: host by host)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="shipdeck",
        description="Deploy Docker apps to your own servers the Kamal 2 way: a terminal dashboard "
        "for operators, headless for CI. Reads config/deploy.yml and .kamal/ as Kamal does.",
    )
    parser.add_argument("-V", "--shipdeck-version", action="version", version=f"shipdeck {__version__}")
    _auto_help(parser)
    parser.add_argument("-c", "--config-file", dest="dashboard_config", metavar="FILE",
                        help="with no command: the dashboard for this deploy config (default: config/deploy.yml)")
    parser.add_argument("-d", "--destination", dest="dashboard_destination", metavar="DEST",
                        help="with no command: the dashboard for this destination")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    common = common_options()
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers, common)
    meta.add_group_helpers(parser)
    meta.add_negations(parser)
    return parser


def _load_handler(spec: str):
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _print_error(message: str) -> None:
    from app.secrets.masking import mask

    sys.stderr.write(f"shipdeck: {mask(message)}\n")


def main(argv: Sequence[str] | None = None, *, interrupt_quietly: bool = False) -> int:
    """The command line. `interrupt_quietly` (the console script): a Ctrl-C is status 130 and one line
    from the first instruction on; its handler stays until a command installs its own."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        if not interrupt_quietly:
            raise
        sys.stderr.write("shipdeck: interrupted\n")
        return 130


def _main(argv: Sequence[str] | None) -> int:
    import signal

    from app.cli.auto import detach_stdin, split_auto_flags

    parser = build_parser()
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on: KeyboardInterrupt, handled below
    try:
        auto, rest = split_auto_flags(sys.argv[1:] if argv is None else argv)
    except ShipdeckError as error:
        parser.print_usage(sys.stderr)
        _print_error(error.message)
        return EXIT_USAGE
    args = parser.parse_args(rest)
    args.auto = auto
    handler_spec = getattr(args, "handler", None)
    dashboard_options = args.dashboard_config is not None or args.dashboard_destination is not None
    if handler_spec is not None and dashboard_options:
        parser.error("-c and -d go after the command, e.g. shipdeck deploy -d staging")
    if handler_spec is None:  # no command: the dashboard, in a terminal
        from app.cli import ui

        if not ui.terminal():
            return ui.usage_without_terminal()
        args.config_file = args.dashboard_config or "config/deploy.yml"
        args.destination = args.dashboard_destination
        args.version, args.server = None, []
        handler_spec = "app.cli.ui:run"
    if auto.enabled:
        detach_stdin()
        if args.command == "deploy":
            handler_spec = "app.cli.auto:deploy"
    if handler_spec.startswith(NETWORK_HANDLERS):
        from app.engine.warmup import start_imports

        start_imports()
    try:
        handler = _load_handler(handler_spec)
        return int(handler(args) or 0)
    except ShipdeckError as error:
        _print_error(error.message)
        if auto.enabled:
            from app.cli.exit_codes import exit_code_for

            return exit_code_for(error)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("shipdeck: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # the last line of defence: no traceback for users
        if os.environ.get("SHIPDECK_DEBUG"):
            raise
        _print_error(f"internal error: {type(error).__name__}: {error} (set SHIPDECK_DEBUG=1 for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main(interrupt_quietly=True))
