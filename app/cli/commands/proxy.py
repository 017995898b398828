"""`shipdeck proxy boot|reboot|boot_config|start|stop|restart|details|logs|remove`."""

from __future__ import annotations

import argparse

from app.cli.commands.app import log_options
from app.cli.session import run_operation
from app.engine import proxy_ops


def boot(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "boot", proxy_ops.boot)


def reboot(args: argparse.Namespace) -> int:
    rolling = bool(args.rolling)
    return run_operation(args, "proxy", "reboot", lambda run: proxy_ops.reboot(run, rolling=rolling))


def start(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "start", proxy_ops.start)


def stop(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "stop", proxy_ops.stop)


def restart(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "restart", proxy_ops.restart)


def details(args: argparse.Namespace) -> int:
    return run_operation(args, "proxy", "details", proxy_ops.details)


def logs(args: argparse.Namespace) -> int:
    options = log_options(args)
    return run_operation(args, "proxy", "logs", lambda run: proxy_ops.logs(run, options))


def remove(args: argparse.Namespace) -> int:
    force = bool(args.force)
    return run_operation(args, "proxy", "remove", lambda run: proxy_ops.remove(run, force=force))


def boot_config(args: argparse.Namespace) -> int:
    from app.engine import proxy_boot_config as files

    command = args.boot_config_command
    if command == "get":
        return run_operation(args, "proxy", "boot_config", files.get)
    if command == "reset":
        return run_operation(args, "proxy", "boot_config", files.reset)
    options = files.BootConfig(
        publish=bool(args.publish), publish_host_ips=tuple(args.publish_host_ip), http_port=args.http_port,
        https_port=args.https_port, log_max_size=args.log_max_size, registry=args.registry,
        repository=args.repository, image_version=args.image_version, metrics_port=args.metrics_port,
        debug=bool(args.debug), docker_options=tuple(args.docker_options))
    files.publish_args(options.http_port, options.https_port, options.publish_host_ips)  # bad IPs: before connecting
    return run_operation(args, "proxy", "boot_config", lambda run: files.set_(run, options))
