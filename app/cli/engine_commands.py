"""Arguments of the Kamal-named commands (setup, deploy, app, accessory, proxy, build, ...).

Names and flags follow Kamal 2 so that muscle memory and CI scripts carry over. Each command's
handler lives in `app/cli/commands/<group>.py` (imported only when that command runs) and turns the
arguments into one call of the engine's Fleet API.
Destructive actions are never approved by a blanket `-y`: `--confirm=ACTION:TARGET` approves
exactly one thing (the error of a refused action prints the flag to use).
"""

from __future__ import annotations

import argparse

COMMANDS = "app.cli.commands"


def _handler(parser: argparse.ArgumentParser, group: str, function: str) -> None:
    parser.set_defaults(handler=f"{COMMANDS}.{group}:{function}")


def _engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run options")
    group.add_argument("--lock-wait", action="store_true", help="wait for a deploy lock held by another deploy")
    group.add_argument("--lock-wait-timeout", type=float, default=900, metavar="SECONDS")
    group.add_argument("--lock-wait-interval", type=float, default=15, metavar="SECONDS")
    group.add_argument("--confirm", action="append", default=[], metavar="ACTION:TARGET",
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
    parser.add_argument("-T", "--timestamps", action="store_true", help="show timestamps")
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
    version = subparsers.add_parser("version", help="Show the shipdeck version")
    version.set_defaults(handler=f"{COMMANDS}.main:version")

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
    execute.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE")
    execute.add_argument("--detach", action="store_true")
    execute.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND")
    _logs_flags(_add(app, common, "logs", "Show log lines from the app containers", "app"))
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
    logs = _add(accessory, common, "logs", "Show log lines from an accessory", "accessory")
    logs.add_argument("name", metavar="NAME")
    _logs_flags(logs)
    accessory_exec = _add(accessory, common, "exec", "Run a command in an accessory container", "accessory", "exec_")
    accessory_exec.add_argument("name", metavar="NAME")
    accessory_exec.add_argument("-i", "--interactive", action="store_true")
    accessory_exec.add_argument("--reuse", action="store_true")
    accessory_exec.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND")

    # -- proxy ----------------------------------------------------------------------------------
    proxy = _group(subparsers, "proxy", "Manage kamal-proxy")
    _add(proxy, common, "boot", "Boot kamal-proxy on servers (never replaces a running one)", "proxy")
    reboot = _add(proxy, common, "reboot", "Replace kamal-proxy (a brief outage per host; asks first)", "proxy")
    reboot.add_argument("--rolling", action="store_true", help="one host at a time")
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
                       ("deliver", "Push, then pull")):
        parser = _add(build, common, name, text, "build")
        parser.add_argument("--no-cache", action="store_true")

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
