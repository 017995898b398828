"""Top-level deploy commands: setup, deploy, redeploy, rollback, details, audit."""

from __future__ import annotations

import argparse

from app import contract
from app.engine import deploy as flows
from app.engine.runner import Run
from app.engine.session import puts_by_host, run_command

AUDIT_LINES = 50


def setup(args: argparse.Namespace) -> int:
    return run_command(args, "setup", None, flows.setup)


def deploy(args: argparse.Namespace) -> int:
    return run_command(args, "deploy", None, flows.deploy)


def redeploy(args: argparse.Namespace) -> int:
    return run_command(args, "redeploy", None, flows.redeploy)


def rollback(args: argparse.Namespace) -> int:
    return run_command(args, "rollback", None, lambda run: flows.rollback(run, args.rollback_version))


def details(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        from app.engine.commands.app import show_details

        await _show(run, run.targets.proxy_hosts, f"docker ps --filter 'name=^{contract.PROXY_CONTAINER}$'",
                    "Proxy")
        await show_details(run)
        for accessory in run.config.accessories:
            hosts = [host for host in accessory.hosts if host in run.target_hosts()]
            await _show(run, hosts, f"docker ps --filter label=service={accessory.service_name}", "Accessory")

    return run_command(args, "details", None, body)


async def _show(run: Run, hosts: list[str], command: str, type: str) -> None:
    """Run a read-only docker listing on each host and print it grouped by host."""

    async def one(host: str) -> str:
        async with run.step("details", f"$ {command}", host=host):
            return (await run.host(host).run(command)).stdout

    outputs = await run.on_hosts(hosts, one)
    for host in hosts:
        puts_by_host(run, host, outputs[host], type=type)


def audit(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        path = contract.audit_log_path(run.config.service, run.config.destination)

        async def one(host: str) -> str:
            async with run.step("audit", f"tail -n {AUDIT_LINES} {path}", host=host):
                content = await run.host(host).read_file(path)
                if content is None:
                    raise FileNotFoundError(f"tail: cannot open '{path}' for reading: No such file or directory")
                return "\n".join(content.decode(errors="replace").splitlines()[-AUDIT_LINES:])

        hosts = run.target_hosts()
        outputs = await run.on_hosts(hosts, one)
        for host in hosts:
            puts_by_host(run, host, outputs[host])

    return run_command(args, "audit", None, body)


def version(args: argparse.Namespace) -> int:
    """`kamal version` prints Kamal's version; `shipdeck version` prints shipdeck's."""
    from app import __version__

    print(__version__)
    return 0
