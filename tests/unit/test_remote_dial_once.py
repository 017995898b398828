"""A host that cannot be reached is dialled once for the steps that queue on it, and the error names the
system's reason."""

from __future__ import annotations

import asyncio
import errno

import pytest

from app.remote import host as host_module
from app.remote import ssh
from app.remote.errors import HostUnreachable
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget, connect_reason


async def test_steps_queued_on_a_failed_dial_share_its_error(monkeypatch) -> None:
    dials = 0

    async def refused(target, tunnel=None, on_lost=None):
        nonlocal dials
        dials += 1
        await asyncio.sleep(0.05)
        raise HostUnreachable(target.host, "cannot connect to port 22: Connection refused")

    monkeypatch.setattr(host_module, "open_connection", refused)
    remote = RemoteHost(SSHTarget(host="192.0.2.7"))
    results = await asyncio.gather(remote.connection(), remote.connection(), remote.connection(),
                                   return_exceptions=True)
    assert dials == 1
    assert all(isinstance(result, HostUnreachable) for result in results)
    monkeypatch.setattr(host_module, "REDIAL_AFTER", 0.0)  # later uses dial again
    with pytest.raises(HostUnreachable):
        await remote.connection()
    assert dials == 2


def test_the_reason_is_the_systems_not_asyncios() -> None:
    error = OSError(errno.EHOSTUNREACH, "Connect call failed ('192.0.2.7', 22)")
    assert connect_reason(error) == "No route to host"
    assert connect_reason(OSError(errno.ECONNREFUSED, "Connect call failed")) == "Connection refused"
    assert ssh.connect_reason(OSError("something else")) == "something else"
