"""Arguments of the `shipdeck sandbox` command group (imports nothing heavy)."""

from __future__ import annotations

import argparse

from app.sandbox import layout


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sandbox = subparsers.add_parser(
        "sandbox", help="a fleet of test servers on this machine (root, Linux)",
        description="A real fleet on this machine: network/mount-namespace hosts, each with sshd and its own "
        "dockerd, registries, the sandbox images and a demo Kamal project. Needs root on Linux.")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    sandbox.set_defaults(handler="app.sandbox.commands:missing_action")

    def with_dir(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--dir", type=str, default=None, metavar="PATH",
                            help=f"sandbox dir (default: $SHIPDECK_SANDBOX_DIR or {layout.DEFAULT_DIR})")
        return parser

    up = with_dir(actions.add_parser("up", help="bring the fleet up, or repair it (idempotent)"))
    up.add_argument("--hosts", type=int, default=layout.DEFAULT_HOSTS, metavar="N",
                    help=f"number of hosts (default {layout.DEFAULT_HOSTS})")
    up.add_argument("--no-images", action="store_true", help="do not build and push the sandbox images")
    up.set_defaults(handler="app.sandbox.commands:up")

    status = with_dir(actions.add_parser("status", help="show what runs"))
    status.set_defaults(handler="app.sandbox.commands:status")

    down = with_dir(actions.add_parser("down", help="stop and remove everything `up` made"))
    down.add_argument("--purge", action="store_true", help="also delete the sandbox dir (keys, data, images)")
    down.set_defaults(handler="app.sandbox.commands:down")

    env = with_dir(actions.add_parser("env", help="print shell exports for Kamal/docker against the sandbox"))
    env.set_defaults(handler="app.sandbox.commands:env")

    bare = with_dir(actions.add_parser(
        "bare", help="start (or remove) a bare host: no Docker, its own Debian root filesystem",
        description="A server as a provider hands it over (Debian, openssh-server, curl, sudo, no Docker) at "
        f"10.77.0.({layout.BARE_HOST_BASE}+N), for `server bootstrap` to install Docker on. `start` always "
        "makes it anew. Needs `sandbox up` first."))
    bare.add_argument("bare_action", choices=("start", "remove"), metavar="start|remove")
    bare.add_argument("--index", type=int, default=1, metavar="N",
                      help=f"which bare host, 1 to {layout.MAX_BARE_HOSTS} (default 1)")
    bare.set_defaults(handler="app.sandbox.commands:bare")

    demo = with_dir(actions.add_parser(
        "demo", help="bring the fleet up and deploy the demo project to it with `shipdeck setup`"))
    demo.add_argument("--hosts", type=int, default=layout.DEFAULT_HOSTS, metavar="N",
                      help=f"number of hosts (default {layout.DEFAULT_HOSTS}, at least 3)")
    demo.set_defaults(handler="app.sandbox.commands:demo")
