"""Arguments of the Kamal-named commands (setup, deploy, app, accessory, proxy, build, ...).

Names and flags follow Kamal 2 so that muscle memory and CI scripts carry over. Each command's
handler lives in `app/cli/commands/<group>.py` (imported only when that command runs) and turns the
arguments into one call of the engine's Fleet API.
Kamal's `-y` answers a command's own question as in Kamal; `--confirm=ACTION:TARGET` approves exactly
one thing and is what `--auto` needs (the error of a refused action prints the flag to use).
"""

from __future__ import annotations

import argparse
import re

COMMANDS = "app.cli.commands"


def _handler(parser: argparse.ArgumentParser, group: str, function: str) -> None:
    parser.set_defaults(handler=f"{COMMANDS}.{group}:{function}")


_CONFIRMATION = re.compile(r"[a-z][a-z_]*(\.[a-z_]+)*:\S+")


def confirmation(value: str) -> str:
    """`--confirm` takes ACTION:TARGET (e.g. proxy.reboot:kamal-proxy); anything else is a usage error."""
    if not _CONFIRMATION.fullmatch(value.strip()):
        raise argparse.ArgumentTypeError(f"expects ACTION:TARGET, e.g. --confirm=proxy.reboot:kamal-proxy or "
                                         f"--confirm=accessory.remove:db; got {value!r}")
    return value.strip()


def _yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--confirmed", action="store_true",
                        help="proceed without the confirmation question (Kamal's -y; under --auto use --confirm)")


def _engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run options")
    group.add_argument("--lock-wait", action="store_true", help="wait for a deploy lock held by another deploy")
    group.add_argument("--lock-wait-timeout", type=float, default=900, metavar="SECONDS")
    group.add_argument("--lock-wait-interval", type=float, default=15, metavar="SECONDS")
    group.add_argument("--confirm", action="append", default=[], metavar="ACTION:TARGET", type=confirmation,
                       help="approve one destructive action, e.g. --confirm=proxy.reboot:kamal-proxy")


def _add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, help_text: str,
         group: str, function: str | None = None) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text, parents=[common], add_help=False)
    _engine_options(parser)
    _handler(parser, group, function or name.replace("-", "_"))
    return parser


def _deploy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-P", "--skip-push", action="store_true", help="skip image build and push (pull only)")
    parser.add_argument("--no-cache", action="store_true", help="build without Docker's build cache")


def _group(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True,
                                 parser_class=type(parser))


def _logs_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--since", help="since a timestamp or relative (42m)")
    parser.add_argument("-n", "--lines", type=int, help="number of lines to show from each server")
    parser.add_argument("-g", "--grep", help="show lines matching this pattern")
    parser.add_argument("--grep-options", help="extra options for grep")
    parser.add_argument("-T", "--skip-timestamps", action="store_true", help="do not prefix lines with timestamps")
    parser.add_argument("-f", "--follow", action="store_true", help="follow log output (primary host)")


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    # -- main -----------------------------------------------------------------------------------
    _deploy_flags(_add(subparsers, common, "setup", "Set up accessories and the proxy, then deploy", "main"))
    _deploy_flags(_add(subparsers, common, "deploy", "Build, push and deploy the app with zero downtime", "main"))
    _deploy_flags(_add(subparsers, common, "redeploy", "Deploy without booting the proxy or pruning", "main"))
    rollback = _add(subparsers, common, "rollback", "Roll back to a version that still has containers", "main")
    rollback.add_argument("rollback_version", metavar="VERSION")
    _add(subparsers, common, "details", "Show the proxy, app and accessory containers on every host", "main")
    _add(subparsers, common, "audit", "Show the last lines of each host's audit log", "main")
    remove_all = _add(subparsers, common, "remove", "Remove kamal-proxy, app, accessories, and registry session "
                                                    "from servers (asks first)", "main")
    _yes(remove_all)
    upgrade = _add(subparsers, common, "upgrade", "Upgrade from Kamal 1.x to 2.0 (not done by shipdeck: use Kamal "
                                                 "once)", "main")
    _yes(upgrade)
    upgrade.add_argument("--rolling", action="store_true", help="one host at a time")
    version = subparsers.add_parser("version", help="Show the shipdeck version", parents=[common], add_help=False)
    version.set_defaults(handler="app.version:show")

    # -- app ------------------------------------------------------------------------------------
    app = _group(subparsers, "app", "Manage the app containers")
    _add(app, common, "boot", "Boot the app on servers (or reboot it if already running)", "app")
    _add(app, common, "start", "Start the existing app container on servers", "app")
    _add(app, common, "stop", "Stop the app container on servers", "app")
    _add(app, common, "details", "Show the running app containers", "app")
    _add(app, common, "containers", "Show every app container (running or not)", "app")
    _add(app, common, "images", "Show the app images", "app")
    _add(app, common, "version", "Show the running app version on each host", "app")
    stale = _add(app, common, "stale_containers", "Find (and with --stop, stop) stale app containers", "app")
    stale.add_argument("-s", "--stop", action="store_true", help="stop the stale containers found")
    execute = _add(app, common, "exec", "Run a command in a new (or, with --reuse, the running) app container",
                   "app", "exec_")
    execute.add_argument("-i", "--interactive", action="store_true")
    execute.add_argument("--reuse", action="store_true", help="run in the running container instead of a new one")
    execute.add_argument("-e", "--env", action="append", default=[], metavar="KEY:VALUE",
                         help="an environment variable for the command (KEY:VALUE as in Kamal, or KEY=VALUE)")
    execute.add_argument("--detach", action="store_true")
    execute.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND")
    app_logs = _add(app, common, "logs", "Show log lines from the app containers", "app")
    _logs_flags(app_logs)
    app_logs.add_argument("--container-id", metavar="CONTAINER_ID", help="this Docker container's log instead")
    _add(app, common, "remove", "Remove app containers and images from servers", "app")
    maintenance = _add(app, common, "maintenance", "Put the app in maintenance mode (503 from the proxy)", "app")
    maintenance.add_argument("--drain-timeout", type=int)
    maintenance.add_argument("--message")
    _add(app, common, "live", "Take the app out of maintenance mode", "app")

    # -- accessory ------------------------------------------------------------------------------
    accessory = _group(subparsers, "accessory", "Manage accessories (db, redis, ...)")
    for name, text in (
        ("boot", "Boot an accessory (NAME or all)"),
        ("reboot", "Reboot an accessory: pull, stop, remove, boot"),
        ("start", "Start an existing accessory container"),
        ("stop", "Stop an accessory container"),
        ("restart", "Restart an accessory container"),
        ("details", "Show an accessory's container"),
        ("remove", "Remove an accessory's container, image and data directories (asks first)"),
    ):
        parser = _add(accessory, common, name, text, "accessory")
        parser.add_argument("name", metavar="NAME")
        if name == "remove":
            _yes(parser)
    logs = _add(accessory, common, "logs", "Show log lines from an accessory", "accessory")
    logs.add_argument("name", metavar="NAME")
    _logs_flags(logs)
    accessory_exec = _add(accessory, common, "exec", "Run a command in an accessory container", "accessory", "exec_")
    accessory_exec.add_argument("name", metavar="NAME")
    accessory_exec.add_argument("-i", "--interactive", action="store_true")
    accessory_exec.add_argument("--reuse", action="store_true")
    accessory_exec.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND")
    accessory_upgrade = _add(accessory, common, "upgrade", "Upgrade accessories from Kamal 1.x (not done by "
                                                           "shipdeck: use Kamal once)", "accessory")
    _yes(accessory_upgrade)
    accessory_upgrade.add_argument("--rolling", action="store_true", help="one host at a time")

    # -- proxy ----------------------------------------------------------------------------------
    proxy = _group(subparsers, "proxy", "Manage kamal-proxy")
    _add(proxy, common, "boot", "Boot kamal-proxy on servers (never replaces a running one)", "proxy")
    reboot = _add(proxy, common, "reboot", "Replace kamal-proxy (a brief outage per host; asks first)", "proxy")
    reboot.add_argument("--rolling", action="store_true", help="one host at a time")
    _yes(reboot)
    boot_config = _add(proxy, common, "boot_config", "Manage kamal-proxy boot configuration (deprecated in Kamal "
                                                     "2.10: set proxy.run in the config)", "proxy")
    boot_config.add_argument("boot_config_command", choices=("set", "get", "reset"), metavar="set|get|reset")
    boot_config.add_argument("--publish", action="store_true", default=True, help="publish the ports (default)")
    boot_config.add_argument("--publish-host-ip", action="append", default=[], metavar="IP",
                             help="host IP to bind HTTP/HTTPS to (repeatable; default: all interfaces)")
    boot_config.add_argument("--http-port", type=int, default=80, metavar="N")
    boot_config.add_argument("--https-port", type=int, default=443, metavar="N")
    boot_config.add_argument("--log-max-size", default="10m", metavar="SIZE")
    boot_config.add_argument("--registry", metavar="REGISTRY", help="registry of the proxy image")
    boot_config.add_argument("--repository", metavar="REPOSITORY", help="repository of the proxy image")
    boot_config.add_argument("--image-version", metavar="VERSION", help="kamal-proxy version to run")
    boot_config.add_argument("--metrics-port", type=int, metavar="N")
    boot_config.add_argument("--debug", action="store_true")
    boot_config.add_argument("--docker-options", nargs="*", default=[], metavar="OPTION=VALUE")
    _add(proxy, common, "start", "Start kamal-proxy", "proxy")
    _add(proxy, common, "stop", "Stop kamal-proxy", "proxy")
    _add(proxy, common, "restart", "Restart kamal-proxy", "proxy")
    _add(proxy, common, "details", "Show kamal-proxy's container", "proxy")
    _logs_flags(_add(proxy, common, "logs", "Show kamal-proxy's log lines", "proxy"))
    remove = _add(proxy, common, "remove", "Remove kamal-proxy from servers", "proxy")
    remove.add_argument("--force", action="store_true", help="even if other apps are installed")

    # -- build ----------------------------------------------------------------------------------
    build = _group(subparsers, "build", "Build and distribute the app image")
    for name, text in (("push", "Build the image and push it to the registry"),
                       ("pull", "Pull the image onto the servers"),
                       ("deliver", "Push, then pull"),
                       ("dev", "Build the working directory as it is, tagged -dirty, into the local engine")):
        parser = _add(build, common, name, text, "build")
        parser.add_argument("--no-cache", action="store_true")
        if name in ("push", "dev"):
            parser.add_argument("--output", default="registry" if name == "push" else "docker",
                                metavar="EXPORT_TYPE", help="buildx's export type (registry pushes)")
    _add(build, common, "create", "Create the build setup (a buildx builder, unless the docker driver)", "build")
    _add(build, common, "remove", "Remove the build setup", "build")
    _add(build, common, "details", "Show the build setup", "build")

    # -- registry, lock, prune, server ----------------------------------------------------------
    registry = _group(subparsers, "registry", "Set up or remove the local registry, or log in to or out of a "
                                              "remote one, locally and on servers")
    for name, text in (("setup", "Start the local registry, or log in locally and on every server"),
                       ("remove", "Remove the local registry, or log out locally and on every server"),
                       ("login", "docker login locally and on every server"),
                       ("logout", "docker logout locally and on every server")):
        parser = _add(registry, common, name, text, "registry")
        parser.add_argument("-L", "--skip-local", action="store_true", help="skip this machine")
        parser.add_argument("-R", "--skip-remote", action="store_true", help="skip the servers")

    lock = _group(subparsers, "lock", "Manage the deploy lock")
    acquire = _add(lock, common, "acquire", "Take the deploy lock by hand", "lock")
    acquire.add_argument("-m", "--message", required=True)
    _add(lock, common, "release", "Release the deploy lock", "lock")
    _add(lock, common, "status", "Show who holds the deploy lock", "lock")

    prune = _group(subparsers, "prune", "Remove old app containers and images")
    _add(prune, common, "all", "Prune containers, then images", "prune", "all_")
    _add(prune, common, "images", "Prune unused app images", "prune")
    containers = _add(prune, common, "containers", "Prune stopped app containers beyond the retained ones", "prune")
    containers.add_argument("--retain", type=int)

    server = _group(subparsers, "server", "Run commands on the servers")
    server_exec = _add(server, common, "exec", "Run a command on every server", "server", "exec_")
    server_exec.add_argument("-i", "--interactive", action="store_true")
    server_exec.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND")
    _add(server, common, "bootstrap", "Check that Docker is installed on every server", "server")
