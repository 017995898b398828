"""`shipdeck app ...`: Kamal's app subcommands (Kamal::Cli::App), same remote effects and audit lines."""

from __future__ import annotations

import argparse
import sys

from app import contract
from app.engine import app_boot, audit, server
from app.engine import app_commands as commands
from app.engine import deploy as flows
from app.engine.app_host import AppOnHost
from app.engine.confirm import ConfirmationRequest, Effect
from app.engine.deploy import boot_app, using_version
from app.engine.lock import held
from app.engine.runner import Run
from app.engine.session import log_timestamps, puts_by_host, run_command
from app.errors import UsageError
from app.remote import app_docker


def _explicit_version(args: argparse.Namespace) -> str | None:
    return getattr(args, "version", None)


# ---------------------------------------------------------------- boot, start, stop

def boot(args: argparse.Namespace) -> int:
    return run_command(args, "app", "boot", lambda run: boot_app(run, _explicit_version(args)))


def start(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
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

    return run_command(args, "app", "start", body)


async def stop_app(run: Run) -> None:
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


def stop(args: argparse.Namespace) -> int:
    return run_command(args, "app", "stop", stop_app)


# ---------------------------------------------------------------- listings

async def _per_role(run: Run, step: str, make_command) -> None:
    """Run a read-only listing per (host, role) over SSH and print it grouped by host."""
    results: dict[tuple[str, str], str] = {}

    async def work(host: str, role) -> None:
        command = make_command(role)
        async with run.step(step, f"$ {command}", host=host, role=role.name):
            results[(host, role.name)] = (await run.host(host).run(command)).stdout

    await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=True)
    for host in run.targets.app_hosts:
        for role in run.targets.roles_on(host):
            if (host, role.name) in results:
                puts_by_host(run, host, results[(host, role.name)])


async def show_details(run: Run) -> None:
    await _per_role(run, "app.details", lambda role: commands.info(run.config, role))


def details(args: argparse.Namespace) -> int:
    return run_command(args, "app", "details", show_details)


async def _per_host(run: Run, step: str, command: str) -> None:
    async def one(host: str) -> str:
        async with run.step(step, f"$ {command}", host=host):
            return (await run.host(host).run(command)).stdout

    outputs = await run.on_hosts(run.targets.app_hosts, one)
    for host in run.targets.app_hosts:
        puts_by_host(run, host, outputs[host])


def containers(args: argparse.Namespace) -> int:
    return run_command(args, "app", "containers",
                       lambda run: _per_host(run, "app.containers", commands.list_containers(run.config)))


def images(args: argparse.Namespace) -> int:
    return run_command(args, "app", "images",
                       lambda run: _per_host(run, "app.images", commands.list_images(run.config)))


def version(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        async def one(host: str) -> str:
            role = run.targets.roles_on(host)[0]
            async with run.step("app.version", "Current running version", host=host, role=role.name):
                return await AppOnHost(run, host, role, step="app.version").current_running_version() or ""

        outputs = await run.on_hosts(run.targets.app_hosts, one)
        for host in run.targets.app_hosts:
            puts_by_host(run, host, outputs[host])

    return run_command(args, "app", "version", body)


def stale_containers(args: argparse.Namespace) -> int:
    return run_command(args, "app", "stale_containers", lambda run: flows.stale_containers(run, stop=bool(args.stop)))


# ---------------------------------------------------------------- exec and logs

def _env_option(values: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in values:
        key, separator, value = item.partition("=")
        if not separator:
            raise UsageError(f"--env expects KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def exec_(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if args.detach and (args.interactive or args.reuse):
        raise UsageError("Detach is not compatible with " + " or ".join(
            name for name, on in (("interactive", args.interactive), ("reuse", args.reuse)) if on))
    if not cmd:
        raise UsageError("No command provided. You must specify a command to execute.")
    command = " ".join(cmd)
    env = _env_option(args.env)

    async def body(run: Run) -> int:
        await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
        if args.interactive:
            return await _exec_interactive(run, command, env, reuse=args.reuse)
        if args.reuse:
            current = _explicit_version(args) or await _primary_current_version(run)
            if not current:
                raise UsageError("No running app container found on the primary host")
            with using_version(run, current):
                return await _exec_each(run, lambda role, host: commands.execute_in_existing_container(
                    role, current, command, env=env), f"Executed cmd '{command}' on app version {current}",
                    with_role=True)
        booting = _explicit_version(args) or run.config.latest_tag
        with using_version(run, booting):
            return await _exec_each(run, lambda role, host: commands.execute_in_new_container(
                run.config, role, host, booting, command, env=env, detach=args.detach),
                f"Executed cmd '{command}' on app version {booting}", with_role=False)

    return run_command(args, "app", "exec", body)


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
            puts_by_host(run, host, output)
    return 1 if failed else 0


async def _exec_interactive(run: Run, command: str, env: dict[str, str], *, reuse: bool) -> int:
    """`-i`: like Kamal, hand the terminal to `ssh -t` on the primary host."""
    host = run.targets.primary_host
    role = run.targets.roles_on(host)[0]
    interactive = "-it" if sys.stdin.isatty() else "-i"
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
    await run.pool.close()
    sys.stdout.flush()
    server.exec_interactive(run, host, docker_command)
    return 0  # not reached


def logs(args: argparse.Namespace) -> int:
    timestamps = log_timestamps(args)

    async def body(run: Run) -> None:
        if args.follow:
            await _follow(run, args, timestamps)
            return
        lines = args.lines if args.lines else (None if (args.since or args.grep) else 100)
        results: dict[tuple[str, str], str] = {}

        async def work(host: str, role) -> None:
            app = AppOnHost(run, host, role, step="app.logs")
            source = commands.current_running_container_id(run.config, role)
            shown = commands.logs(source, timestamps=timestamps, since=args.since, lines=lines, grep=args.grep,
                                  grep_options=args.grep_options)
            async with run.step("app.logs", f"Logs of {role.name}", host=host, role=role.name):
                app.show(shown)
                if args.grep:  # the remote grep (and its options) decide the selection: run Kamal's command
                    result = await run.host(host).run(shown, check=False)
                    results[(host, role.name)] = result.stdout if result.ok else "Nothing found"
                    return
                container = await app.current_running_container()
                if container is None:
                    results[(host, role.name)] = "Nothing found"
                    return
                found = await app_docker.logs(run.host(host), str(container["Id"]), tail=lines, since=args.since,
                                              timestamps=timestamps)
                results[(host, role.name)] = "\n".join(found)

        await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=True)
        for host in run.targets.app_hosts:
            for role in run.targets.roles_on(host):
                if (host, role.name) in results:
                    puts_by_host(run, host, results[(host, role.name)])

    return run_command(args, "app", "logs", body)


async def _follow(run: Run, args: argparse.Namespace, timestamps: bool) -> None:
    """`-f`: stream the primary host's current container log (primary role unless -r)."""
    host = run.targets.primary_host
    role = run.targets.roles_on(host)[0]
    lines = args.lines if args.lines else (None if (args.since or args.grep) else 10)
    app = AppOnHost(run, host, role, step="app.logs")
    run.notice(f"Following logs on {host}...")
    run.notice(commands.logs(commands.current_running_container_id(run.config, role), timestamps=timestamps,
                             lines=lines, grep=args.grep, grep_options=args.grep_options, follow=True))
    container = await app.current_running_container()
    if container is None:
        raise UsageError(f"No running {role.name} container on {host}")
    async for line in app_docker.follow_logs(run.host(host), str(container["Id"]), tail=lines, timestamps=timestamps):
        if args.grep and args.grep not in line:
            continue
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


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


async def remove_app(run: Run) -> None:
    if not await run.confirmer.confirm(remove_request(run)):
        run.notice("Aborted", level="error")
        return
    config = run.config
    async with held(run):
        await stop_app(run)

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


def remove(args: argparse.Namespace) -> int:
    return run_command(args, "app", "remove", remove_app)


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


def maintenance(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        drain = args.drain_timeout or run.config.drain_timeout
        raw_args = []
        if drain:
            raw_args.append(f"--drain-timeout={drain}s")
        if args.message is not None:
            raw_args.append(f"--message={args.message}")
        await _proxy_roles(run, "app.maintenance",
                           lambda role: ["kamal-proxy", "stop", role.container_prefix, *raw_args],
                           lambda role: commands.proxy_maintenance(role, drain, args.message))

    return run_command(args, "app", "maintenance", body)


def live(args: argparse.Namespace) -> int:
    return run_command(args, "app", "live", lambda run: _proxy_roles(
        run, "app.live", lambda role: ["kamal-proxy", "resume", role.container_prefix], commands.proxy_live))

