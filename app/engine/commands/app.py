"""Kamal's app subcommands (Kamal::Cli::App) as engine operations: same remote effects and audit
lines; listings are `Rows` results (title "App", one per host), never pre-formatted text."""

from __future__ import annotations

from app import contract
from app.engine import app_boot, audit, server
from app.engine import app_commands as commands
from app.engine.app_host import AppOnHost
from app.engine.confirm import ConfirmationRequest, Effect
from app.engine.deploy import using_version
from app.engine.lock import held
from app.engine.options import ExecOptions, InteractiveCommand, LogOptions
from app.engine.results import PS_COLUMNS, ps_rows
from app.engine.runner import Run
from app.errors import UsageError
from app.remote import app_docker, docker_ops

APP = "App"  # the title of app results (Kamal's `App Host: <host>` header)


# ---------------------------------------------------------------- boot, start, stop

async def start(run: Run) -> None:
    """Start the current version's existing containers (and hand proxied roles back to kamal-proxy)."""
    version = run.config.require_version()
    async with held(run):
        async def work(host: str, role) -> None:
            app = AppOnHost(run, host, role, step="app.start")
            async with run.step("app.start", f"Start {role.container_name(version)}", host=host, role=role.name):
                await app.audit(f"Started app version {version}", with_role=False)
                app.show(commands.start(role, version))
                try:
                    await app_docker.start(run.host(host), role.container_name(version))
                except Exception as error:  # Kamal ignores a failed start here
                    run.output("app.start", str(error), host=host, stream="stderr")
                if role.running_proxy:
                    current = await app.current_running_version()
                    endpoint = await app.container_id(current) if current else None
                    if not endpoint:
                        raise app_boot.BootError(f"Failed to get endpoint for {role.name} on {host}, "
                                                 "did the container boot?")
                    await app.proxy_deploy(endpoint, version)

        await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work,
                                parallel=bool(run.config.boot.parallel_roles))


async def stop(run: Run) -> None:
    async def work(host: str, role) -> None:
        app = AppOnHost(run, host, role, step="app.stop")
        async with run.step("app.stop", f"Stop {role.name}", host=host, role=role.name):
            await app.audit("Stopped app")
            if role.running_proxy:
                current = await app.current_running_version()
                if current and await app.container_id(current):
                    app.show(commands.proxy_remove(role))
                    result = await app_docker.exec_in_container(
                        run.host(host), contract.PROXY_CONTAINER, ["kamal-proxy", "remove", role.container_prefix])
                    if result.exit_code:
                        run.output("app.stop", result.output.strip(), host=host, stream="stderr")
            try:
                await app.stop()
            except Exception as error:  # `raise_on_non_zero_exit: false`
                run.output("app.stop", str(error), host=host, stream="stderr")

    async with held(run):
        await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work,
                                parallel=bool(run.config.boot.parallel_roles))


# ---------------------------------------------------------------- listings

async def details(run: Run) -> None:
    """`docker ps` of each role's running containers on each host (`Rows` of the ps columns)."""
    config = run.config
    results: dict[tuple[str, str], list] = {}

    async def work(host: str, role) -> None:
        command = commands.info(config, role)
        async with run.step("app.details", f"$ {command}", host=host, role=role.name):
            results[(host, role.name)] = await app_docker.list_containers(
                run.host(host), contract.app_container_filters(config.service, config.destination, role.name))

    await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=True)
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            if (host, role.name) in results:
                run.rows("app.containers", APP, PS_COLUMNS, ps_rows(results[(host, role.name)]), host=host,
                         role=role.name)


async def containers(run: Run) -> None:
    """`docker container ls --all` of the service's containers on each app host."""
    config = run.config
    command = commands.list_containers(config)

    async def one(host: str) -> list:
        async with run.step("app.containers", f"$ {command}", host=host):
            return await app_docker.list_containers(
                run.host(host), contract.app_container_filters(config.service, config.destination), all_states=True)

    found = await run.on_hosts(run.targets.app_hosts, one)
    for host in run.targets.app_hosts:
        run.rows("app.containers", APP, PS_COLUMNS, ps_rows(found[host]), host=host)


async def images(run: Run) -> None:
    """`docker image ls <repository>` on each app host, as the docker CLI prints it."""
    command = commands.list_images(run.config)

    async def one(host: str) -> str:
        async with run.step("app.images", f"$ {command}", host=host):
            return (await run.host(host).run(command)).stdout

    outputs = await run.on_hosts(run.targets.app_hosts, one)
    for host in run.targets.app_hosts:
        run.lines("app.images", APP, outputs[host], host=host)


async def version(run: Run) -> dict[str, str]:
    """The running version on each app host (first role there)."""
    async def one(host: str) -> str:
        role = run.targets.roles_on(host)[0]
        async with run.step("app.version", "Current running version", host=host, role=role.name):
            return await AppOnHost(run, host, role, step="app.version").current_running_version() or ""

    outputs = await run.on_hosts(run.targets.app_hosts, one)
    for host in run.targets.app_hosts:
        run.lines("app.version", APP, [outputs[host]] if outputs[host] else [], host=host)
    return outputs


# ---------------------------------------------------------------- exec and logs

async def exec_(run: Run, options: ExecOptions) -> int | InteractiveCommand:
    """`app exec`: in a new container (or `reuse` the running one) on every app host/role; exit 1 if any
    failed. Interactive: the command to hand the terminal to, for the face to run."""
    if options.detach and (options.interactive or options.reuse):
        raise UsageError("Detach is not compatible with " + " or ".join(
            name for name, on in (("interactive", options.interactive), ("reuse", options.reuse)) if on))
    if not options.command:
        raise UsageError("No command provided. You must specify a command to execute.")
    command, env = options.command, dict(options.env)
    await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
    if options.interactive:
        return await _exec_interactive(run, command, env, reuse=options.reuse, terminal=options.terminal)
    if options.reuse:
        current = options.version or await _primary_current_version(run)
        if not current:
            raise UsageError("No running app container found on the primary host")
        with using_version(run, current):
            return await _exec_each(run, lambda role, host: commands.execute_in_existing_container(
                role, current, command, env=env), f"Executed cmd '{command}' on app version {current}",
                with_role=True)
    booting = options.version or run.config.latest_tag
    with using_version(run, booting):
        return await _exec_each(run, lambda role, host: commands.execute_in_new_container(
            run.config, role, host, booting, command, env=env, detach=options.detach),
            f"Executed cmd '{command}' on app version {booting}", with_role=False)


async def _primary_current_version(run: Run) -> str | None:
    host = run.targets.primary_host
    role = run.targets.roles_on(host)[0]
    return await AppOnHost(run, host, role, step="app.exec").current_running_version()


async def _exec_each(run: Run, make_command, message: str, *, with_role: bool) -> int:
    """Run the command on every app host/role (output grouped by host); exit 1 if any failed."""
    results: dict[tuple[str, str], tuple[bool, str]] = {}

    async def work(host: str, role) -> None:
        docker_command = make_command(role, host)
        async with run.step("app.exec", f"$ {docker_command}", host=host, role=role.name):
            await audit.record(run.host(host), run.config, message, role=role.name if with_role else None)
            result = await run.host(host).run(docker_command, check=False)
            results[(host, role.name)] = (result.ok, result.stdout + result.stderr)

    await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=True)
    failed = False
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            ok, output = results.get((host, role.name), (False, ""))
            failed = failed or not ok
            run.lines("app.exec", APP, output, host=host, role=role.name)
    return 1 if failed else 0


async def _exec_interactive(run: Run, command: str, env: dict[str, str], *, reuse: bool,
                            terminal: bool) -> InteractiveCommand:
    """`-i`: like Kamal, hand the terminal to `ssh -t` on the primary host."""
    host = run.targets.primary_host
    role = run.targets.roles_on(host)[0]
    interactive = "-it" if terminal else "-i"
    if reuse:
        current = await _primary_current_version(run)
        if not current:
            raise UsageError("No running app container found on the primary host")
        docker_command = commands.execute_in_existing_container(role, current, command, env=env,
                                                                interactive=interactive)
    else:
        version = run.config.version if run.options.version else run.config.latest_tag
        docker_command = commands.execute_in_new_container(run.config, role, host, version, command, env=env,
                                                           interactive=interactive)
    return InteractiveCommand(host, tuple(server.ssh_argv(run, host, docker_command)))


async def logs(run: Run, options: LogOptions) -> None:
    """Log lines of each role's current container on each app host (`Rows`, title "App")."""
    if options.follow:
        await _follow(run, options)
        return
    lines = options.lines if options.lines else (None if (options.since or options.grep) else 100)
    results: dict[tuple[str, str], str] = {}

    async def work(host: str, role) -> None:
        app = AppOnHost(run, host, role, step="app.logs")
        source = _log_source(run, role, options)
        shown = commands.logs(source, timestamps=options.timestamps, since=options.since, lines=lines,
                              grep=options.grep, grep_options=options.grep_options)
        async with run.step("app.logs", f"Logs of {role.name}", host=host, role=role.name):
            app.show(shown)
            if options.grep:  # the remote grep (and its options) decide the selection: run Kamal's command
                result = await run.host(host).run(shown, check=False)
                results[(host, role.name)] = result.stdout if result.ok else "Nothing found"
                return
            container_id = options.container_id or await _current_id(app)
            if container_id is None:
                results[(host, role.name)] = "Nothing found"
                return
            try:
                found = await app_docker.logs(run.host(host), container_id, tail=lines, since=options.since,
                                              timestamps=options.timestamps)
            except docker_ops.DockerCommandError:  # Kamal: `docker logs` failed on this host
                results[(host, role.name)] = "Nothing found"
                return
            results[(host, role.name)] = "\n".join(found)

    await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=True)
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            if (host, role.name) in results:
                run.lines("app.logs", APP, results[(host, role.name)], host=host, role=role.name)


def _log_source(run: Run, role, options: LogOptions) -> str:
    """The command naming the container whose log Kamal shows: `echo ID` for `--container-id`."""
    if options.container_id:
        return f"echo {options.container_id}"
    return commands.current_running_container_id(run.config, role)


async def _current_id(app: AppOnHost) -> str | None:
    container = await app.current_running_container()
    return None if container is None else str(container["Id"])


async def _follow(run: Run, options: LogOptions) -> None:
    """`-f`: stream the primary host's current container log (primary role unless -r), one untitled
    `Rows` line per log line."""
    host = run.targets.primary_host
    role = run.targets.roles_on(host)[0]
    lines = options.lines if options.lines else (None if (options.since or options.grep) else 10)
    app = AppOnHost(run, host, role, step="app.logs")
    run.notice(f"Following logs on {host}...")
    run.notice(commands.logs(_log_source(run, role, options), timestamps=options.timestamps,
                             lines=lines, grep=options.grep, grep_options=options.grep_options, follow=True))
    container_id = options.container_id or await _current_id(app)
    if container_id is None:
        raise UsageError(f"No running {role.name} container on {host}")
    async for line in app_docker.follow_logs(run.host(host), container_id, tail=lines,
                                             timestamps=options.timestamps):
        if options.grep and options.grep not in line:
            continue
        run.lines("app.logs", "", [line], host=host, role=role.name)


# ---------------------------------------------------------------- remove, maintenance, live

def _hosts_removing_all_roles(run: Run) -> list[str]:
    return [host for host in run.targets.app_hosts
            if sorted(role.name for role in run.targets.roles_on(host))
            == sorted(role.name for role in run.config.host_roles(host))]


def remove_request(run: Run) -> ConfirmationRequest:
    config = run.config
    effects = []
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            effects.append(Effect(host, f"stop and remove every {role.container_prefix}-* container"))
    for host in _hosts_removing_all_roles(run):
        effects.append(Effect(host, f"remove every image labelled service={config.service}; rm -r "
                                    f"{contract.app_dir(config.service, config.destination)} "
                                    f"{contract.proxy_app_config_dir(config.service, config.destination)}"))
    return ConfirmationRequest(action="app.remove", title=f"Remove the app {config.service_and_destination}",
                               consequence="The app stops serving and its containers and images are deleted.",
                               effects=tuple(effects), target=config.service_and_destination)


async def remove(run: Run) -> None:
    if not await run.confirmer.confirm(remove_request(run)):
        run.notice("Aborted", level="error")
        return
    config = run.config
    async with held(run):
        await stop(run)

        async def containers_work(host: str, role) -> None:
            async with run.step("app.remove_containers", f"Remove {role.name} containers", host=host,
                                role=role.name):
                await audit.record(run.host(host), config, "Removed all app containers", role=role.name)
                run.output("app.remove_containers", f"$ {commands.remove_containers(config, role)}", host=host,
                           stream="command")
                await app_docker.prune_containers(run.host(host), contract.app_container_filters(
                    config.service, config.destination, role.name))

        await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, containers_work, parallel=True)
        hosts = _hosts_removing_all_roles(run)

        async def images_work(host: str) -> None:
            async with run.step("app.remove_images", "Remove app images", host=host):
                await audit.record(run.host(host), config, "Removed all app images")
                run.output("app.remove_images", f"$ {commands.remove_images(config)}", host=host, stream="command")
                await app_docker.prune_images(run.host(host), [f"label=service={config.service}"],
                                              all_images=True)

        await run.on_hosts(hosts, images_work)

        async def directories_work(host: str) -> None:
            app_dir = contract.app_dir(config.service, config.destination)
            proxy_dir = contract.proxy_app_config_dir(config.service, config.destination)
            async with run.step("app.remove_directories", "Remove app directories", host=host):
                remote = run.host(host)
                await remote.run(f"rm -r {app_dir}", check=False)
                remote.forget_directory(app_dir)
                await audit.record(remote, config, f"Removed {app_dir}")
                await remote.run(f"rm -r {proxy_dir}", check=False)
                remote.forget_directory(proxy_dir)

        await run.on_hosts(hosts, directories_work)


async def _proxy_roles(run: Run, step: str, make_argv, shown) -> None:
    async def work(host: str, role) -> None:
        if not role.running_proxy:
            return
        app = AppOnHost(run, host, role, step=step)
        async with run.step(step, shown(role), host=host, role=role.name):
            app.show(shown(role))
            await app.proxy_exec(make_argv(role))

    async with held(run):
        await app_boot.on_roles(run, run.targets.roles, run.targets.proxy_hosts, work, parallel=True)


async def maintenance(run: Run, drain_timeout: int | None = None, message: str | None = None) -> None:
    """Put each proxied role in maintenance mode (kamal-proxy answers 503)."""
    drain = drain_timeout or run.config.drain_timeout
    raw_args = []
    if drain:
        raw_args.append(f"--drain-timeout={drain}s")
    if message is not None:
        raw_args.append(f"--message={message}")
    await _proxy_roles(run, "app.maintenance",
                       lambda role: ["kamal-proxy", "stop", role.container_prefix, *raw_args],
                       lambda role: commands.proxy_maintenance(role, drain, message))


async def live(run: Run) -> None:
    await _proxy_roles(run, "app.live", lambda role: ["kamal-proxy", "resume", role.container_prefix],
                       commands.proxy_live)

