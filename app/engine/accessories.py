"""`accessory boot|reboot|start|stop|restart|details|logs|exec|remove NAME|all`, as Kamal 2.11 does them.

Boot: login + network on the accessory's hosts; hosts that already have a container for it are
skipped (Kamal's message); directories and file uploads (ERB rendered with the accessory's env) on
all its hosts; then per remaining host the audit line, the 0600 env file (over SFTP: secrets never in
a command) and Kamal's exact `docker run` (through the Engine API when the translation is exact).
"""

from __future__ import annotations

import os
import re
import shlex

from app import contract
from app.config.model import Accessory, Config
from app.engine import app_commands, audit, local_registry, lock, registry_ops
from app.engine.confirm import ConfirmationRequest, Effect
from app.engine.options import ExecOptions, InteractiveCommand, LogOptions
from app.engine.proxy_ops import container_logs, deploy_args, follow_logs, remove_tree
from app.engine.results import PS_COLUMNS, ps_rows
from app.engine.runner import Run
from app.errors import ShipdeckError, UsageError
from app.remote import app_docker, docker_ops


class AccessoryError(ShipdeckError):
    """An accessory step failed."""


# -- lookup ----------------------------------------------------------------------------------------

def accessory_names(config: Config) -> list[str]:
    return [accessory.name for accessory in config.accessories]


def lookup(run: Run, name: str) -> Accessory:
    accessory = run.config.accessory(name)
    if accessory is None:
        names = accessory_names(run.config)
        options = ""
        if names:
            sentence = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            options = f" (options: {sentence})"
        raise UsageError(f"No accessory by the name of '{name}'{options}")
    return accessory


def selected(run: Run, name: str) -> list[Accessory]:
    return list(run.config.accessories) if name == "all" else [lookup(run, name)]


def hosts_for(run: Run, accessory: Accessory) -> list[str]:
    """Kamal's `KAMAL.accessory_hosts & accessory.hosts` (the -h filter applied)."""
    targeted = run.targets.accessory_hosts if run.targets is not None else list(accessory.hosts)
    return [host for host in dict.fromkeys(targeted) if host in accessory.hosts]


# -- command strings -------------------------------------------------------------------------------

def _volume_arg(host_path: str, container_path: str, options: str | None) -> str:
    host = host_path if host_path.startswith("/") else f"$PWD/{host_path}"
    return f"{host}:{container_path}" + (f":{options}" if options else "")


def volume_args(accessory: Accessory) -> list[str]:
    args: list[str] = []
    for volume in accessory.volumes:
        args += ["--volume", volume]
    for file in accessory.files:
        args += ["--volume", _volume_arg(file.host_path, file.remote, file.options)]
    for directory in accessory.directories:
        args += ["--volume", _volume_arg(directory.volume_host_path, directory.remote, directory.options)]
    return args


def env_path(config: Config, accessory: Accessory) -> str:
    return contract.accessory_env_path(config.service, config.destination, accessory.name)


def env_args(config: Config, accessory: Accessory) -> list[str]:
    return [*contract.argumentize("--env", dict(accessory.env.clear)),
            *contract.argumentize("--env-file", env_path(config, accessory))]


def option_args(accessory: Accessory) -> list[str]:
    return contract.optionize(dict(accessory.options)) if accessory.options else []


def run_command(config: Config, accessory: Accessory, host: str | None = None) -> str:
    """Kamal::Commands::Accessory#run, byte for byte."""
    parts = ["docker", "run", "--name", accessory.service_name, "--detach", "--restart", "unless-stopped",
             *contract.argumentize("--network", accessory.network), *config.logging.args()]
    if accessory.port:
        parts += contract.argumentize("--publish", accessory.port)
    if host:
        parts += ["--env", f'KAMAL_HOST="{host}"']
    parts += env_args(config, accessory)
    parts += volume_args(accessory)
    parts += contract.argumentize("--label", accessory.labels)
    parts += option_args(accessory)
    parts.append(accessory.image)
    if accessory.cmd:
        parts.append(accessory.cmd)
    return " ".join(parts)


def exec_new_command(config: Config, accessory: Accessory, command: str, interactive: bool = False) -> str:
    """Kamal::Commands::Accessory#execute_in_new_container."""
    parts = ["docker", "run", *(["-it"] if interactive else []), "--rm",
             *contract.argumentize("--network", accessory.network), *env_args(config, accessory),
             *volume_args(accessory), *option_args(accessory), accessory.image, command]
    return " ".join(parts)


def exec_existing_command(accessory: Accessory, command: str, interactive: bool = False) -> str:
    return " ".join(["docker", "exec", *(["-it"] if interactive else []), accessory.service_name, command])


def env_file_content(run: Run, accessory: Accessory) -> str:
    """The accessory's secret env (aliases resolved), as Kamal's EnvFile writes it."""
    values = {name: run.secrets[key] for name, key in accessory.env.secrets}
    return contract.env_file_content(values)


def accessory_env(run: Run, accessory: Accessory) -> dict[str, str]:
    """Clear and secret env together (what ERB files see as ENV)."""
    env = {str(key): contract.to_s(value) for key, value in accessory.env.clear.items()}
    env.update({name: run.secrets[key] for name, key in accessory.env.secrets})
    return env


def render_file(run: Run, accessory: Accessory, local: str) -> bytes:
    """An `*.erb` file rendered with the accessory's env loaded into ENV; other files as they are."""
    if not os.path.isfile(local):
        raise AccessoryError(f"Missing file: {local}")
    with open(local, "rb") as handle:
        data = handle.read()
    if not accessory_file_is_erb(local):
        return data
    from app.config.erb import render

    environ = {**os.environ, **accessory_env(run, accessory)}
    return render(data.decode(), file=local, environ=environ, cwd=run.config.project_dir).text.encode()


def accessory_file_is_erb(path: str) -> bool:
    return path.endswith("erb")


# -- prepare, directories, uploads -----------------------------------------------------------------

async def prepare(run: Run, accessory: Accessory, hosts: list[str]) -> None:
    """`docker login` (the accessory's registry, else the app's) and `docker network create kamal`."""
    async def one(host: str) -> None:
        async with run.step("accessory.prepare", f"Preparing {accessory.name}", host=host):
            await registry_ops.login_on_host(run, host, accessory.registry or run.config.registry)
            await app_docker.create_network(run.host(host), contract.NETWORK)

    await run.on_hosts(hosts, one)


async def _chmod_chown(run: Run, host: str, path: str, mode: str | None, owner: str | None) -> None:
    remote = run.host(host)
    if mode:
        if re.fullmatch(r"[0-7]{1,4}", str(mode)):
            sftp = await remote.sftp()
            await sftp.chmod(_sftp_path(path), int(str(mode), 8))
        else:
            await remote.run(f"chmod {mode} {path}")
    if owner:
        await remote.run(f"chown {owner} {path}")


def _sftp_path(path: str) -> str:
    """`$PWD/x` → `x` (SFTP starts in the home directory, where Kamal's commands run)."""
    return path[len("$PWD/"):] if path.startswith("$PWD/") else path


async def directories(run: Run, accessory: Accessory, hosts: list[str]) -> None:
    async def one(host: str) -> None:
        remote = run.host(host)
        for directory in accessory.directories:
            async with run.step("accessory.directories", f"mkdir -p {directory.host_path}", host=host):
                await remote.makedirs(_sftp_path(directory.host_path), recheck=True)
                await _chmod_chown(run, host, directory.host_path, directory.mode, directory.owner)

    if accessory.directories:
        await run.on_hosts(hosts, one)


async def upload(run: Run, accessory: Accessory, hosts: list[str]) -> None:
    contents = {file.local: render_file(run, accessory, file.local) for file in accessory.files}

    async def one(host: str) -> None:
        remote = run.host(host)
        for file in accessory.files:
            async with run.step("accessory.upload", f"Uploading {file.host_path}", host=host):
                mode = int(str(file.mode), 8) if file.mode and re.fullmatch(r"[0-7]{1,4}", str(file.mode)) else 0o644
                await remote.write_file(file.host_path, contents[file.local], mode=mode)
                await _chmod_chown(run, host, file.host_path, file.mode, file.owner)

    if accessory.files:
        await run.on_hosts(hosts, one)


# -- boot --------------------------------------------------------------------------------------------

async def _existing(run: Run, accessory: Accessory, host: str) -> bool:
    filters = contract.accessory_filter_args(accessory.service_name)[1::2]
    found = await app_docker.list_containers(run.host(host), filters, all_states=True)
    return bool(found)


async def _proxy_target(run: Run, accessory: Accessory, host: str) -> str | None:
    running = await app_docker.list_containers(run.host(host), [f"name=^{accessory.service_name}$"])
    return str(running[0]["Id"])[:12] if running else None


async def proxy_deploy(run: Run, accessory: Accessory, host: str) -> None:
    """`docker exec kamal-proxy kamal-proxy deploy <svc> --target=...` for a proxied accessory."""
    assert accessory.proxy is not None
    target = await _proxy_target(run, accessory, host)
    args = deploy_args(run.config, accessory.proxy, target or "")
    argv = ["kamal-proxy", "deploy", accessory.service_name, *[_unquote(arg) for arg in args]]
    result = await app_docker.exec_in_container(run.host(host), contract.PROXY_CONTAINER, argv)
    status, output = result.exit_code, result.stdout + result.stderr
    for line in output.splitlines():
        run.output("accessory.proxy", line, host=host)
    if status != 0:
        raise AccessoryError(f"kamal-proxy deploy {accessory.service_name} failed: {output.strip()}")


def _unquote(argument: str) -> str:
    """`--host="a.test"` as the remote shell would pass it."""
    return "".join(shlex.split(argument)) if '"' in argument else argument


async def boot_on_host(run: Run, accessory: Accessory, host: str) -> None:
    config = run.config
    remote = run.host(host)
    async with run.step("accessory.boot", f"Booting {accessory.name} ({accessory.service_name})", host=host):
        await audit.record(remote, config, f"Booted {accessory.name} accessory")
        content = env_file_content(run, accessory)
        path = env_path(config, accessory)
        await remote.write_file(path, content.encode(), mode=0o600)
        command = run_command(config, accessory, host)
        run.output("accessory.boot", command, host=host)
        async with local_registry.for_image(run, host, accessory.image):
            await docker_ops.run_container(remote, command, env_files={path: content},
                                           auth=registry_ops.registry_auth(run, accessory.registry or config.registry))
        if accessory.running_proxy:
            await proxy_deploy(run, accessory, host)


async def boot_one(run: Run, accessory: Accessory, *, with_prepare: bool = True) -> None:
    hosts = hosts_for(run, accessory)
    if with_prepare:
        await prepare(run, accessory, hosts)
    existing = await run.on_hosts(hosts, lambda host: _existing(run, accessory, host))
    booted = sorted(host for host, found in existing.items() if found)
    if booted:
        run.notice(f"Skipping booting `{accessory.name}` on {', '.join(booted)}, a container already exists",
                   level="warning")
    await directories(run, accessory, hosts)
    await upload(run, accessory, hosts)
    remaining = [host for host in hosts if host not in booted]
    await run.on_hosts(remaining, lambda host: boot_on_host(run, accessory, host))


async def boot(run: Run, name: str) -> None:
    """`accessory boot NAME|all`."""
    async with lock.held(run):
        for accessory in selected(run, name):
            await boot_one(run, accessory)


async def boot_all(run: Run) -> None:
    """`accessory boot all` (used by `setup`)."""
    await boot(run, "all")


# -- reboot / start / stop / restart -----------------------------------------------------------------

async def _stop_on_host(run: Run, accessory: Accessory, host: str) -> None:
    remote = run.host(host)
    async with run.step("accessory.stop", f"docker container stop {accessory.service_name}", host=host):
        await audit.record(remote, run.config, f"Stopped {accessory.name} accessory")
        target = None
        if accessory.running_proxy:
            target = await _proxy_target(run, accessory, host)
        try:
            await app_docker.stop(remote, accessory.service_name)
        except docker_ops.DockerCommandError as error:  # Kamal ignores a failing stop
            run.output("accessory.stop", str(error), host=host, stream="stderr")
        if accessory.running_proxy and target:
            result = await app_docker.exec_in_container(
                remote, contract.PROXY_CONTAINER, ["kamal-proxy", "remove", accessory.service_name])
            status, output = result.exit_code, result.stdout + result.stderr
            if status != 0:
                raise AccessoryError(f"kamal-proxy remove {accessory.service_name} failed: {output.strip()}")


async def _start_on_host(run: Run, accessory: Accessory, host: str) -> None:
    remote = run.host(host)
    async with run.step("accessory.start", f"docker container start {accessory.service_name}", host=host):
        await audit.record(remote, run.config, f"Started {accessory.name} accessory")
        await app_docker.start(remote, accessory.service_name)
        if accessory.running_proxy:
            await proxy_deploy(run, accessory, host)


async def stop(run: Run, name: str) -> None:
    async with lock.held(run):
        for accessory in selected(run, name):
            await run.on_hosts(hosts_for(run, accessory), lambda host, a=accessory: _stop_on_host(run, a, host))


async def start(run: Run, name: str) -> None:
    async with lock.held(run):
        for accessory in selected(run, name):
            await run.on_hosts(hosts_for(run, accessory), lambda host, a=accessory: _start_on_host(run, a, host))


async def restart(run: Run, name: str) -> None:
    async with lock.held(run):
        for accessory in selected(run, name):
            await stop(run, accessory.name)
            await start(run, accessory.name)


async def _remove_container(run: Run, accessory: Accessory, host: str) -> None:
    remote = run.host(host)
    await audit.record(remote, run.config, f"Remove {accessory.name} accessory container")
    await app_docker.prune_containers(remote, contract.accessory_filter_args(accessory.service_name)[1::2])


async def reboot(run: Run, name: str) -> None:
    """`accessory reboot`: prepare, pull the image, stop, remove the container, boot (no prepare)."""
    async with lock.held(run):
        for accessory in selected(run, name):
            hosts = hosts_for(run, accessory)
            await prepare(run, accessory, hosts)
            auth = registry_ops.registry_auth(run, accessory.registry or run.config.registry)

            async def pull(host: str, a: Accessory = accessory, auth=auth) -> None:
                async with run.step("accessory.pull", f"docker image pull {a.image}", host=host):
                    await audit.record(run.host(host), run.config, f"Pull {a.name} accessory image")
                    async with local_registry.for_image(run, host, a.image):
                        async for line in docker_ops.pull_image(run.host(host), a.image, auth):
                            run.output("accessory.pull", line, host=host)

            await run.on_hosts(hosts, pull)
            await run.on_hosts(hosts, lambda host, a=accessory: _stop_on_host(run, a, host))

            async def remove_container(host: str, a: Accessory = accessory) -> None:
                async with run.step("accessory.remove_container", f"Removing {a.service_name}", host=host):
                    await _remove_container(run, a, host)

            await run.on_hosts(hosts, remove_container)
            await boot_one(run, accessory, with_prepare=False)


# -- details / logs / exec -----------------------------------------------------------------------------

async def details(run: Run, name: str) -> None:
    """`docker ps --filter label=service=<svc>` per accessory and host (`Rows`, title "Accessory NAME")."""
    for accessory in selected(run, name):
        async def one(host: str, a: Accessory = accessory) -> list:
            command = f"docker ps --filter label=service={a.service_name}"
            async with run.step("accessory.details", f"Accessory {a.name}: {command}", host=host):
                return await app_docker.list_containers(
                    run.host(host), contract.accessory_filter_args(a.service_name)[1::2])

        hosts = hosts_for(run, accessory)
        found = await run.on_hosts(hosts, one)
        for host in hosts:
            run.rows("accessory.containers", f"Accessory {accessory.name}", PS_COLUMNS, ps_rows(found[host]),
                     host=host)


def logs_command(accessory: Accessory, *, since: str | None, lines: int | None, timestamps: bool,
                 grep: str | None, grep_options: str | None) -> str:
    return app_commands.docker_logs_command(accessory.service_name, since=since, lines=lines, timestamps=timestamps,
                                            grep=grep, grep_options=grep_options, padded=True)


async def logs(run: Run, name: str, options: LogOptions) -> None:
    """The accessory's log lines on each of its hosts (untitled `Rows`: Kamal prints them bare)."""
    accessory = lookup(run, name)
    hosts = hosts_for(run, accessory)
    if options.follow:
        run.notice(f"Following logs on {hosts}...")
        await follow_logs(run, accessory.hosts[0], accessory.service_name, step="accessory.logs",
                          timestamps=options.timestamps, grep=options.grep)
        return
    lines = options.lines
    if lines is None and not (options.since or options.grep):
        lines = 100
    found = await container_logs(run, hosts, accessory.service_name, step="accessory.logs",
                                 command=logs_command(accessory, since=options.since, lines=lines,
                                                      timestamps=options.timestamps, grep=options.grep,
                                                      grep_options=options.grep_options),
                                 since=options.since, lines=lines, timestamps=options.timestamps, grep=options.grep)
    for host, collected in found.items():
        run.lines("accessory.logs", "", collected, host=host)


async def execute(run: Run, name: str, command: str, *, reuse: bool = False,
                  stdin: bytes | None = None) -> dict[str, str]:
    """`accessory exec NAME CMD` (a new container, or with `reuse` the running one); output per host.

    `stdin` (e.g. SQL for psql) is fed to the command, as `docker run -i` / `docker exec -i` would.
    """
    accessory = lookup(run, name)
    hosts = hosts_for(run, accessory)
    results: dict[str, str] = {}
    with_stdin = stdin is not None

    async def one(host: str) -> None:
        remote = run.host(host)
        if reuse:
            shown = exec_existing_command(accessory, command)
            actual = shown.replace("docker exec ", "docker exec -i ", 1) if with_stdin else shown
        else:
            shown = exec_new_command(run.config, accessory, command)
            actual = shown.replace("docker run ", "docker run -i ", 1) if with_stdin else shown
        async with run.step("accessory.exec", shown, host=host):
            if not reuse:
                await registry_ops.login_on_host(run, host, accessory.registry or run.config.registry)
            await audit.record(remote, run.config, f"Executed cmd '{command}' on {accessory.name} accessory")
            if reuse:
                status, output = await docker_ops.exec_command(remote, actual, stdin=stdin)
            else:
                path = env_path(run.config, accessory)
                content = await remote.read_file(path)
                env_files = {path: content.decode()} if content is not None else {}
                async with local_registry.for_image(run, host, accessory.image):
                    outcome = await docker_ops.run_container(
                        remote, actual, env_files=env_files, stdin=stdin,
                        auth=registry_ops.registry_auth(run, accessory.registry or run.config.registry))
                status, output = outcome.exit_code or 0, outcome.stdout + outcome.stderr
            for line in output.splitlines():
                run.output("accessory.exec", line, host=host)
            results[host] = output
            if status != 0:
                raise AccessoryError(f"`{command}` exited with {status}:\n{output.strip()}")

    await run.on_hosts(hosts, one)
    return results


async def exec_(run: Run, name: str, options: ExecOptions) -> InteractiveCommand | None:
    """`accessory exec NAME CMD`: output per host as `Rows` (title "App", as Kamal prints it); `-i` at a
    terminal (no piped input): the interactive command on the accessory's first host, for the face to run."""
    if not options.command:
        raise UsageError("accessory exec needs a command")
    await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
    if options.interactive and options.stdin is None:
        from app.engine import server

        accessory = lookup(run, name)
        host = accessory.hosts[0]
        if options.reuse:
            run.notice("Launching interactive command via SSH from existing container...")
            shell = exec_existing_command(accessory, options.command, interactive=True)
        else:
            run.notice("Launching interactive command via SSH from new container...")
            await registry_ops.login_on_host(run, host, accessory.registry or run.config.registry)
            shell = exec_new_command(run.config, accessory, options.command, interactive=True)
        return InteractiveCommand(host, tuple(server.ssh_argv(run, host, shell)))
    where = "existing" if options.reuse else "new"
    run.notice(f"Launching command from {where} container...")
    outputs = await execute(run, name, options.command, reuse=options.reuse, stdin=options.stdin)
    for host, output in outputs.items():
        run.lines("accessory.exec", "App", output, host=host)
    return None


# -- remove --------------------------------------------------------------------------------------------

def remove_effects(run: Run, accessories: list[Accessory]) -> tuple[Effect, ...]:
    effects = []
    for accessory in accessories:
        data = [directory.host_path.replace("$PWD/", "~/") for directory in accessory.directories]
        for host in hosts_for(run, accessory):
            effects.append(Effect(host, f"remove container {accessory.service_name} (docker container prune --force "
                                        f"--filter label=service={accessory.service_name})"))
            effects.append(Effect(host, f"remove image {accessory.image} (docker image rm --force {accessory.image})"))
            effects.append(Effect(host, f"delete directory ~/{accessory.service_name} (rm -rf {accessory.service_name})"
                                        + (f", including data directories {', '.join(data)}" if data else "")))
    return tuple(effects)


def remove_request(run: Run, name: str) -> ConfirmationRequest:
    accessories = selected(run, name)
    return ConfirmationRequest(
        action="accessory.remove", target=name,
        title=f"Remove accessory {name}",
        consequence=f"This will remove all containers, images and data directories for {name}.",
        effects=remove_effects(run, accessories), destroys_data=True)


async def _remove_one(run: Run, accessory: Accessory) -> None:
    hosts = hosts_for(run, accessory)
    await run.on_hosts(hosts, lambda host: _stop_on_host(run, accessory, host))

    async def rest(host: str) -> None:
        remote = run.host(host)
        async with run.step("accessory.remove", f"Removing {accessory.name}", host=host):
            await _remove_container(run, accessory, host)
            await audit.record(remote, run.config, f"Removed {accessory.name} accessory image")
            await app_docker.remove_image(remote, accessory.image, force=True)
            await remove_tree(run, host, accessory.service_name, force=True)

    await run.on_hosts(hosts, rest)


async def remove(run: Run, name: str) -> bool:
    """`accessory remove NAME|all`: only after the confirmer approves exactly this removal."""
    request = remove_request(run, name)
    if not await run.confirmer.confirm(request):
        run.notice("Aborted", level="error")
        return False
    async with lock.held(run):
        for accessory in selected(run, name):
            await _remove_one(run, accessory)
    return True
