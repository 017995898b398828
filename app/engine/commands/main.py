"""`details`, `audit` and `remove` (Kamal::Cli::Main) as engine operations."""

from __future__ import annotations

from app import contract
from app.engine import accessories, lock, proxy_ops
from app.engine.commands import app as app_operations
from app.engine.commands import registry as registry_operations
from app.engine.confirm import ApproveAll, ConfirmationRequest, Effect
from app.engine.options import RegistryOptions
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


def remove_request(run: Run) -> ConfirmationRequest:
    config = run.config
    effects = [Effect(host, "remove the app's containers, images and directories")
               for host in run.targets.app_hosts]
    effects += [Effect(host, "remove kamal-proxy's container, image and .kamal/proxy (unless other apps use it)")
                for host in proxy_ops.proxy_hosts(run)]
    for accessory in config.accessories:
        effects += [Effect(host, f"remove accessory {accessory.name}: container, image and data directories")
                    for host in accessory.hosts]
    effects += [Effect(host, f"docker logout {config.registry.server or 'docker.io'}") for host in run.target_hosts()]
    return ConfirmationRequest(action="remove", title=f"Remove {config.service_and_destination} from its servers",
                               consequence="This will remove all containers and images (and accessory data).",
                               effects=tuple(effects), target=config.service_and_destination, destroys_data=True)


async def remove(run: Run) -> bool:
    """Kamal's `remove`: app, proxy, every accessory, then the registry session on the hosts, under one
    lock and one confirmation (the parts do not ask again)."""
    if not await run.confirmer.confirm(remove_request(run)):
        run.notice("Aborted", level="error")
        return False
    asked, run.confirmer = run.confirmer, ApproveAll()
    try:
        async with lock.held(run):
            await app_operations.remove(run)
            await proxy_ops.remove(run)
            for accessory in run.config.accessories:
                await accessories.remove(run, accessory.name)
            await registry_operations.remove(run, RegistryOptions(skip_local=True, skip_remote=False))
    finally:
        run.confirmer = asked
    return True
