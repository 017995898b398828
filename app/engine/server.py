"""`server bootstrap` and `server exec`, as Kamal 2.11 does them.

Bootstrap checks `docker -v` on every host. Where it is missing, shipdeck does what Kamal does and
no more: with superuser rights (root, or passwordless `sudo usermod`) it runs Kamal's installer
pipeline (get.docker.com) and adds a non-root user to the docker group; without them it fails with
Kamal's message. Finally the local `docker-setup` hook runs, every time.
"""

from __future__ import annotations

from app.engine import audit, lock
from app.engine.hooks import run_hook
from app.engine.runner import Run
from app.errors import ShipdeckError

INSTALLED = "docker -v"
SUPERUSER = '[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null'
ROOT = '[ "${EUID:-$(id -u)}" -eq 0 ]'
IN_DOCKER_GROUP = 'id -nG "${USER:-$(id -un)}" | grep -qw docker'
ADD_TO_DOCKER_GROUP = 'sudo -n usermod -aG docker "${USER:-$(id -un)}"'
INSTALL = "sh -c 'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo \"exit 1\"' | sh"


class ServerError(ShipdeckError):
    """A server step failed with Kamal's message."""


def missing_message(hosts: list[str]) -> str:
    return (f"Docker is not installed on {', '.join(hosts)} and can't be automatically installed without having "
            "root access and either `wget` or `curl`. Install Docker manually: "
            "https://docs.docker.com/engine/install/")


async def bootstrap(run: Run) -> None:
    """Make sure Docker is on every host (installing it only where Kamal would), then `docker-setup`."""
    async with lock.held(run):
        missing: list[str] = []

        async def one(host: str) -> None:
            remote = run.host(host)
            async with run.step("server.bootstrap", "Checking Docker (docker -v)", host=host):
                check = await remote.run(INSTALLED, check=False)
                if check.ok:
                    run.output("server.bootstrap", check.stdout.strip(), host=host)
                    return
                if not (await remote.run(SUPERUSER, check=False)).ok:
                    missing.append(host)
                    return
                run.notice(f"Missing Docker on {host}. Installing…", host=host)
                install = await remote.run(INSTALL, check=False, timeout=1800)
                for line in (install.stdout + install.stderr).splitlines()[-20:]:
                    run.output("server.bootstrap", line, host=host)
                if not install.ok:
                    raise ServerError(f"Installing Docker on {host} failed (exit {install.exit_status})")
                if not (await remote.run(ROOT, check=False)).ok and \
                        not (await remote.run(IN_DOCKER_GROUP, check=False)).ok:
                    await remote.run(ADD_TO_DOCKER_GROUP)
                    run.notice(f"Added {remote.target.user} to the docker group on {host}; "
                               "the next connection picks up the group", host=host)
                    await remote.close()  # Kamal's `kill -HUP $PPID`: a new session sees the new group

        await run.on_hosts(run.target_hosts(), one)
        if missing:
            raise ServerError(missing_message(missing))
        await run_hook(run, "docker-setup")


async def execute(run: Run, command: str) -> dict[str, str]:
    """`server exec CMD` on every targeted host: audit `Executed cmd '<c>' on <host>`, output per host."""
    hosts = run.target_hosts()
    run.notice(f"Running '{command}' on {', '.join(hosts)}...")
    outputs: dict[str, str] = {}

    async def one(host: str) -> None:
        remote = run.host(host)
        async with run.step("server.exec", command, host=host):
            await audit.record(remote, run.config, f"Executed cmd '{command}' on {host}")
            result = await remote.run(command, check=False)
            output = result.stdout + result.stderr
            outputs[host] = output
            for line in output.rstrip("\n").splitlines():
                run.output("server.exec", line, host=host)
            if not result.ok:
                raise ServerError(f"`{command}` exited with {result.exit_status}")

    await run.on_hosts(hosts, one)
    return outputs


def ssh_argv(run: Run, host: str, command: str) -> list[str]:
    """Kamal's `run_over_ssh`: `ssh [-F cfg] [-J jump] [-i key] -t user@host -p port 'cmd'` as argv."""
    ssh = run.config.ssh
    argv = ["ssh"]
    if isinstance(ssh.config, str):
        argv += ["-F", ssh.config]
    elif isinstance(ssh.config, tuple):
        for file in ssh.config:
            argv += ["-F", file]
    elif ssh.config is False:
        argv += ["-F", "/dev/null"]
    if ssh.proxy:
        argv += ["-J", ssh.proxy]
    elif ssh.proxy_command:
        argv += ["-o", f"ProxyCommand={ssh.proxy_command}"]
    for key in ssh.keys or ():
        argv += ["-i", key]
    if ssh.keys_only:
        argv += ["-o", "IdentitiesOnly=yes"]
    argv += ["-t", f"{ssh.user}@{host}", "-p", str(ssh.port), command]
    return argv
