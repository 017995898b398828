"""Within a deploy, registry credentials are recorded over SFTP: the host's docker config must be the
very file `docker login` writes, so Kamal and the docker CLI read it back as their own."""

from __future__ import annotations

import pytest

from app.engine.registry_ops import record_credentials
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget

pytestmark = pytest.mark.sandbox

READ = "stat -c '%a' .docker .docker/config.json && cat .docker/config.json"


async def test_recorded_credentials_equal_what_docker_login_writes(sandbox) -> None:
    host = sandbox.hosts[1]
    server = sandbox.private_registry
    sandbox.run(host, "rm -rf .docker")
    sandbox.run(host, f"docker login {server} -u {sandbox.registry_username} --password-stdin",
                input=sandbox.registry_password)
    by_cli = sandbox.run(host, READ).stdout
    sandbox.run(host, "rm -rf .docker")
    remote = RemoteHost(SSHTarget(host=host.address, config=(str(sandbox.ssh_config),)))
    try:
        assert await record_credentials(remote, server, sandbox.registry_username, sandbox.registry_password)
    finally:
        await remote.close()
    by_sftp = sandbox.run(host, READ).stdout
    assert by_sftp == by_cli
    assert by_cli.splitlines()[:2] == ["700", "600"]
    # The docker CLI takes the recorded entry as its own: logout finds and removes it.
    logout = sandbox.run(host, f"docker logout {server}")
    assert f"Removing login credentials for {server}" in logout.stdout + logout.stderr
    assert server not in sandbox.run(host, "cat .docker/config.json").stdout
    sandbox.run(host, f"docker login {server} -u {sandbox.registry_username} --password-stdin",
                input=sandbox.registry_password)


async def test_a_credential_store_is_left_to_the_docker_cli(sandbox) -> None:
    host = sandbox.hosts[1]
    sandbox.run(host, "mkdir -p .docker && printf '{\"credsStore\": \"pass\"}' > .docker/config.json")
    remote = RemoteHost(SSHTarget(host=host.address, config=(str(sandbox.ssh_config),)))
    try:
        assert await record_credentials(remote, sandbox.private_registry, "u", "p") is False
    finally:
        await remote.close()
        sandbox.run(host, "rm -rf .docker")
        sandbox.run(host, f"docker login {sandbox.private_registry} -u {sandbox.registry_username} "
                          "--password-stdin", input=sandbox.registry_password)


async def test_credentials_already_recorded_are_not_written_again(sandbox) -> None:
    """The common case of every deploy: the host's file already holds the entry. One read, no write; a file
    with the right entry but a looser mode is written again, as `docker login` would leave it 0600."""
    host = sandbox.hosts[1]
    server = sandbox.private_registry
    remote = RemoteHost(SSHTarget(host=host.address, config=(str(sandbox.ssh_config),)))
    try:
        assert await record_credentials(remote, server, sandbox.registry_username, sandbox.registry_password)
        before = sandbox.run(host, "stat -c '%i %Y.%y' .docker/config.json").stdout
        operations = remote.stats.file_operations
        assert await record_credentials(remote, server, sandbox.registry_username, sandbox.registry_password)
        assert remote.stats.file_operations - operations == 1
        assert sandbox.run(host, "stat -c '%i %Y.%y' .docker/config.json").stdout == before

        sandbox.run(host, "chmod 644 .docker/config.json")
        assert await record_credentials(remote, server, sandbox.registry_username, sandbox.registry_password)
        assert sandbox.run(host, "stat -c '%a' .docker/config.json").stdout.strip() == "600"
    finally:
        await remote.close()
