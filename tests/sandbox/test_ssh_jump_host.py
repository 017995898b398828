"""`ssh.proxy`: reaching a host through a jump host, with the same keys and known hosts on both hops."""

from __future__ import annotations

import pytest

from app.remote.errors import HostUnreachable
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget

pytestmark = pytest.mark.sandbox


async def test_a_host_is_reached_through_the_jump_host(sandbox) -> None:
    jump, target = sandbox.hosts[0], sandbox.hosts[1]
    host = RemoteHost(SSHTarget(host=target.address, proxy=f"root@{jump.address}", config=(str(sandbox.ssh_config),)))
    try:
        result = await host.run("hostname; echo $SSH_CLIENT")
        name, client = result.stdout.splitlines()
        assert name == target.name
        assert client.split()[0] == jump.address  # the TCP connection came from the jump host
        docker = await host.docker()  # the docker socket is forwarded through both hops
        assert (await docker.system.info())["Name"] == target.name
        assert host.stats.connections == 2
    finally:
        await host.close()


async def test_an_unreachable_jump_host_is_named(sandbox) -> None:
    target = sandbox.hosts[1]
    host = RemoteHost(SSHTarget(host=target.address, proxy="root@10.77.0.99", connect_timeout=3,
                                config=(str(sandbox.ssh_config),)))
    with pytest.raises(HostUnreachable, match=r"through jump host 10\.77\.0\.99"):
        await host.run("true")
