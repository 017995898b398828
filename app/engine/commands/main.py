"""`details` and `audit` (Kamal::Cli::Main) as engine operations with `Rows` results."""

from __future__ import annotations

from app import contract
from app.engine import accessories, proxy_ops
from app.engine.commands import app as app_operations
from app.engine.runner import Run

AUDIT_LINES = 50


async def details(run: Run) -> None:
    """Kamal's `details`: the proxy, app and accessory containers on every targeted host, as `Rows`
    (titles "Proxy", "App", "Accessory")."""
    await proxy_ops.details(run)
    await app_operations.details(run)
    for accessory in run.config.accessories:
        hosts = [host for host in accessory.hosts if host in run.target_hosts()]
        filters = contract.accessory_filter_args(accessory.service_name)[1::2]

        async def one(host: str, filters: list[str] = filters, service: str = accessory.service_name) -> list:
            async with run.step("details", f"$ docker ps --filter label=service={service}", host=host):
                from app.remote import app_docker

                return await app_docker.list_containers(run.host(host), filters)

        found = await run.on_hosts(hosts, one)
        for host in hosts:
            run.rows("accessory.containers", "Accessory", accessories.PS_COLUMNS, accessories.ps_rows(found[host]),
                     host=host)


async def audit(run: Run) -> dict[str, list[str]]:
    """The last AUDIT_LINES lines of each host's audit log (`Rows`, title "App")."""
    path = contract.audit_log_path(run.config.service, run.config.destination)

    async def one(host: str) -> list[str]:
        async with run.step("audit", f"tail -n {AUDIT_LINES} {path}", host=host):
            content = await run.host(host).read_file(path)
            if content is None:
                raise FileNotFoundError(f"tail: cannot open '{path}' for reading: No such file or directory")
            return content.decode(errors="replace").splitlines()[-AUDIT_LINES:]

    hosts = run.target_hosts()
    outputs = await run.on_hosts(hosts, one)
    for host in hosts:
        run.lines("audit", "App", outputs[host], host=host)
    return outputs
