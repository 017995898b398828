"""`build push`, `build pull` and `build deliver`, with Kamal 2.11's order of operations.

push: pre-connect hook → (local registry started) → pre-build hook → Kamal's clone of HEAD (or the
working tree when `builder.context` is set) → build through this machine's Docker Engine API with
the tags `<repo>:<version>` and `<repo>:latest[-dest]` and the `service` label → push both tags.
What the Engine API cannot build (several architectures, an architecture other than the engine's,
cache export, remote or cloud builders, pack, build secrets, ssh, provenance/sbom) is handed to
`docker buildx` with Kamal's exact command, with a notice saying why; without buildx it is an
error that says what needs it.

pull: `docker login` on the app hosts, then on one host per registry mirror first (to seed it),
then the rest: audit, remove the old image, pull with credentials, check the `service` label.
With a local registry (`localhost:<port>`) nothing logs in: `push` starts `kamal-docker-registry`
on this machine and `pull` holds each host's 127.0.0.1:<port> forwarded to it over SSH.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from dataclasses import dataclass

from app import contract
from app.diagnose.findings import LOCAL
from app.engine import audit, build_context, local_registry, registry_ops
from app.engine.hooks import run_hook
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote import app_docker, docker_images, docker_ops, docker_reference
from app.remote.local_docker import LocalDocker

STEP_PUSH = "build.push"
STEP_PULL = "build.pull"


class BuildError(ShipdeckError):
    """The image could not be built or distributed."""


# -- what the build needs ------------------------------------------------------------------------

def buildx_reasons(run: Run, engine_arch: str | None) -> list[str]:
    """Why this config cannot be built through the Engine API (empty: it can)."""
    builder = run.config.builder
    reasons = []
    if builder.pack:
        reasons.append("a pack (buildpacks) builder")
    if builder.remote:
        reasons.append(f"a remote builder ({builder.remote})")
    if builder.driver.startswith("cloud"):
        reasons.append(f"a cloud builder ({builder.driver})")
    if len(builder.arches) > 1:
        reasons.append(f"several architectures ({', '.join(builder.arches)})")
    elif builder.arches and engine_arch and builder.arches[0] != engine_arch:
        reasons.append(f"architecture {builder.arches[0]} on a {engine_arch} engine")
    if builder.cached:
        reasons.append(f"build cache export ({builder.cache_type})")
    if builder.secrets:
        reasons.append("build secrets (builder.secrets)")
    if builder.ssh:
        reasons.append("ssh forwarding (builder.ssh)")
    if builder.provenance is not None:
        reasons.append("provenance attestations")
    if builder.sbom is not None:
        reasons.append("an sbom attestation")
    return reasons


def tags(run: Run, *, dirty: bool = False) -> list[str]:
    """The image's tags; `build dev` marks both `-dirty` (it builds the working directory as it is)."""
    config = run.config
    names = [config.absolute_image, config.latest_image]
    return [f"{name}-dirty" for name in names] if dirty else names


_SHELL_EXPANSION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def build_args(run: Run) -> dict[str, str]:
    """`builder.args` as the build receives them after the local shell (`${VAR}` is expanded there)."""
    return {str(key): _SHELL_EXPANSION.sub(lambda m: os.environ.get(m.group(1), ""), contract.to_s(value))
            for key, value in run.config.builder.args.items()}


def buildx_command(run: Run, *, no_cache: bool = False, output: str = "registry", dirty: bool = False) -> list[str]:
    """Kamal's `docker buildx build ...` (for plans and for the buildx fallback)."""
    config, builder = run.config, run.config.builder
    argv = ["docker", "buildx", "build", f"--output=type={output}"]
    if builder.arches:
        argv += ["--platform", ",".join(f"linux/{arch}" for arch in builder.arches)]
    if builder.driver != "docker":
        argv += ["--builder", builder_name(run)]
    for tag in tags(run, dirty=dirty):
        argv += ["-t", tag]
    cache_to, cache_from = _cache_options(run)
    if cache_to and cache_from:
        argv += ["--cache-to", cache_to, "--cache-from", cache_from]
    argv += contract.argumentize("--label", {"service": config.service})
    argv += contract.argumentize("--build-arg", dict(builder.args))
    for key in builder.secrets:
        argv += ["--secret", f"id={contract.escape_shell_value(key)}"]
    argv += contract.argumentize("--file", builder.dockerfile)
    if builder.target:
        argv += contract.argumentize("--target", builder.target)
    if builder.ssh:
        argv += contract.argumentize("--ssh", builder.ssh)
    if builder.provenance is not None:
        argv += contract.argumentize("--provenance", builder.provenance)
    if builder.sbom is not None:
        argv += contract.argumentize("--sbom", builder.sbom)
    if no_cache:
        argv.append("--no-cache")
    argv.append(builder.context or ".")
    return argv


def builder_name(run: Run) -> str:
    builder = run.config.builder
    if builder.remote:
        sanitized = re.sub(r"[^a-z0-9_-]", "-", builder.remote)
        return f"kamal-remote-{sanitized}" + ("-local-registry" if run.config.registry.local else "")
    if builder.driver.startswith("cloud"):
        return re.sub(r"[ /]", "-", builder.driver)
    if run.config.registry.local:
        return f"kamal-local-registry-{builder.driver}"
    return f"kamal-local-{builder.driver}"


def _cache_options(run: Run) -> tuple[str | None, str | None]:
    builder = run.config.builder
    if not builder.cached:
        return None, None
    if builder.cache_type == "gha":
        options = builder.cache_options.split(",") if builder.cache_options else []
        allowed = [o for o in options if re.match(r"^(url|url_v2|token|scope|timeout)=", o)]
        return ",".join(["type=gha", *([builder.cache_options] if builder.cache_options else [])]), \
            ",".join(["type=gha", *allowed])
    image = builder.cache_image or f"{run.config.image}-build-cache"
    ref = "/".join(part for part in (run.config.registry.server, image) if part)
    to = ",".join(["type=registry", f"ref={ref}", *([builder.cache_options] if builder.cache_options else [])])
    return to, f"type=registry,ref={ref}"


# -- push ----------------------------------------------------------------------------------------

@dataclass
class PushResult:
    images: list[str]
    via: str  # "api" or "buildx"


async def push(run: Run, *, no_cache: bool | None = None, output: str = "registry", dirty: bool = False) -> PushResult:
    """Build the image and push `<repo>:<version>` and `<repo>:latest[-dest]`.

    `output` is buildx's export type (Kamal's `--output`): `registry` pushes, `docker` leaves the image in
    the local engine only, anything else goes to `docker buildx build --output=type=<output>`. `dirty`
    (`build dev`) builds the working directory as it is and tags both names `-dirty`.
    """
    config = run.config
    config.require_version()
    if no_cache is None:
        no_cache = run.options.no_cache
    await run.pool.first_connect()  # the pre-connect hook, as Kamal runs it before a build (remote builders)
    async with LocalDocker() as docker:
        engine_arch = await docker.architecture()
        reasons = buildx_reasons(run, engine_arch)
        if config.registry.local:
            if config.builder.remote:
                raise BuildError(f"A remote builder ({config.builder.remote}) with a local registry needs the "
                                 "registry port forwarded to the builder, which shipdeck does not do yet; use "
                                 "`kamal build push` for this config")
            await local_registry.start(run, docker)
        await run_hook(run, "pre-build")
        directory = _dev_directory(run) if dirty else await _prepare_directory(run)
        if output not in ("registry", "docker"):
            reasons = [*reasons, f"the export type {output!r}"]
        if reasons:
            await _push_with_buildx(run, directory, reasons, no_cache=no_cache, output=output, dirty=dirty)
            return PushResult(tags(run, dirty=dirty), "buildx")
        await _build_with_api(run, docker, directory, no_cache=no_cache, dirty=dirty)
        if output == "docker":  # built into the local engine; nothing is pushed
            return PushResult(tags(run, dirty=dirty), "api")
        auth = registry_ops.registry_auth(run)
        for image in tags(run):
            async with run.step(STEP_PUSH, f"Pushing {image}"), _diagnosed(run, LOCAL, "push"):
                async for line in docker.push(image, auth):
                    run.output(STEP_PUSH, line)
    return PushResult(tags(run), "api")



@contextlib.asynccontextmanager
async def _diagnosed(run: Run, engine: str, during: str):
    """A registry that speaks plain HTTP to an engine that expects HTTPS fails the same way every time:
    name which engine and what to set where, as a Diagnosis, before the error goes on."""
    try:
        yield
    except Exception as error:
        from app.diagnose.registry_http import PLAIN_HTTP, recognise_plain_http_registry

        if PLAIN_HTTP in str(error):
            finding = recognise_plain_http_registry(str(error), config=run.config, engine=engine, during=during,
                                                    environ=os.environ)
            if finding is not None:
                from app.engine.doctor import diagnosis_event

                run.events.emit(diagnosis_event(finding))
        raise


def _dev_directory(run: Run) -> str:
    """`build dev` builds the working directory as it is, and says which changes go in with it."""
    changes = build_context.uncommitted_changes(run.config.project_dir) if shutil.which("git") else ""
    if changes:
        run.notice(f"Files with uncommitted or untracked changes will be present in the dev image:\n {changes}",
                   level="warning")
    return run.config.project_dir


async def _prepare_directory(run: Run) -> str:
    config = run.config
    changes = build_context.uncommitted_changes(config.project_dir) if shutil.which("git") else ""
    if config.builder.git_clone:
        if changes:
            run.notice(f"Building from a local git clone, so ignoring these uncommitted changes:\n {changes}",
                       level="warning")
        async with run.step("build.clone", "Preparing the git clone of HEAD"):
            return await asyncio.to_thread(build_context.prepare_clone, config,
                                           lambda line: run.output("build.clone", line))
    if changes:
        run.notice(f"Building with uncommitted changes:\n {changes}", level="warning")
    return config.project_dir


async def _build_with_api(run: Run, docker: LocalDocker, directory: str, *, no_cache: bool,
                          dirty: bool = False) -> None:
    config, builder = run.config, run.config.builder
    context_dir = os.path.join(directory, builder.context or ".")
    dockerfile = os.path.join(directory, builder.dockerfile)
    if not os.path.isfile(os.path.join(config.project_dir, builder.dockerfile)) and not os.path.isfile(dockerfile):
        raise BuildError(f"Missing {builder.dockerfile}")
    title = f"Building {config.absolute_image}"
    async with run.step(STEP_PUSH, title):
        run.output(STEP_PUSH, " ".join(buildx_command(run, no_cache=no_cache, dirty=dirty)))
        tar, dockerfile_name = await asyncio.to_thread(build_context.context_tar, context_dir, dockerfile)
        with tar:
            async for line in docker.build(tar, tags=tags(run, dirty=dirty), dockerfile=dockerfile_name,
                                           target=builder.target, buildargs=build_args(run),
                                           labels={"service": config.service}, nocache=no_cache):
                run.output(STEP_PUSH, line)


async def _push_with_buildx(run: Run, directory: str, reasons: list[str], *, no_cache: bool,
                            output: str = "registry", dirty: bool = False) -> None:
    """Kamal's own buildx command, for what only BuildKit/buildx can do."""
    needs = "; ".join(reasons)
    if shutil.which("docker") is None or (await _local_status(["docker", "buildx", "version"])) != 0:
        raise BuildError(f"This build needs docker buildx ({needs}), which the Docker Engine API cannot do, "
                         "and `docker buildx` is not installed locally. Install the buildx plugin, or change "
                         "the builder config (one arch matching the local engine, no cache/secrets/remote).")
    run.notice(f"Building with docker buildx instead of the Docker Engine API: the config needs {needs}")
    await registry_ops.login_locally(run)
    env = dict(os.environ)
    for key in run.config.builder.secrets:
        env[key] = run.secrets[key]
    if run.config.builder.remote:
        env["BUILDKIT_NO_CLIENT_TOKEN"] = "1"
    argv = buildx_command(run, no_cache=no_cache, output=output, dirty=dirty)
    async with run.step(STEP_PUSH, f"Building and pushing {run.config.absolute_image} with buildx"):
        if run.config.builder.driver != "docker":
            inspect = await _local_status(["docker", "buildx", "inspect", builder_name(run)])
            if inspect != 0:
                run.notice("Missing compatible builder, so creating a new one first", level="warning")
                await _local_checked(run, _buildx_create_argv(run))
        run.output(STEP_PUSH, " ".join(argv))
        # The argv is handed over unquoted, so remove the shell quoting Kamal's strings carry.
        from shlex import split as _shell_split

        process = await asyncio.create_subprocess_exec(
            *_shell_split(" ".join(argv)), cwd=directory, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert process.stdout is not None
        recent: list[str] = []
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            recent = [*recent, line][-15:]
            run.output(STEP_PUSH, line)
        if await process.wait() != 0:
            raise BuildError("docker buildx build failed:\n" + "\n".join(recent))


def _buildx_create_argv(run: Run) -> list[str]:
    builder = run.config.builder
    argv = ["docker", "buildx", "create", "--name", builder_name(run), f"--driver={builder.driver}"]
    if run.config.registry.local:
        argv += ["--driver-opt", "network=host"]
    return argv


async def _local_status(argv: list[str]) -> int:
    try:
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                       stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return 127
    return await process.wait()


async def _local_checked(run: Run, argv: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise BuildError(f"{' '.join(argv)} failed: {output.decode(errors='replace').strip()}")


# -- pull ----------------------------------------------------------------------------------------

def app_hosts(run: Run) -> list[str]:
    return list(run.targets.app_hosts) if run.targets is not None else list(run.config.app_hosts)


async def pull(run: Run) -> None:
    """Pull the version's image onto the app hosts (mirrors seeded first) and check its `service` label."""
    config = run.config
    config.require_version()
    hosts = app_hosts(run)
    async with local_registry.forwarded(run, hosts, config.registry.local_port):
        await _login_and_pull(run, hosts)


async def _login_and_pull(run: Run, hosts: list[str]) -> None:
    config = run.config

    async def login(host: str) -> None:
        if config.registry.local:  # Kamal logs in to no local registry
            return
        async with run.step("registry.login", f"Logging in to {config.registry.server or 'Docker Hub'}", host=host):
            await registry_ops.login_on_host(run, host)

    # Logging in only records the credentials on each host as Kamal's `docker login` does; the pulls carry
    # their own credentials, so both run at once.
    logins = asyncio.ensure_future(run.on_hosts(hosts, login))
    try:
        first = await _mirror_hosts(run, hosts) if _pulled_through_mirrors(config.absolute_image) else []
        if first:
            run.notice(f"Pulling image on {', '.join(first)} to seed the mirror{'s' if len(first) > 1 else ''}...")
            await run.on_hosts(first, lambda host: pull_on_host(run, host))
            run.notice("Pulling image on remaining hosts...")
            await run.on_hosts([host for host in hosts if host not in first], lambda host: pull_on_host(run, host))
        else:
            await run.on_hosts(hosts, lambda host: pull_on_host(run, host))
    finally:
        await logins


def _pulled_through_mirrors(image: str) -> bool:
    """Whether a host's registry mirrors (`registry-mirrors`, what `docker info` lists) can serve `image`:
    Docker consults them for Docker Hub images only. Kamal seeds the mirrors whatever the registry; for any
    other registry that first, one-host pull seeds nothing and only delays the rest, so shipdeck pulls on
    every host at once (the servers end up the same)."""
    try:
        return docker_reference.parse_reference(image).registry == docker_reference.HUB
    except ValueError:
        return True  # not ours to judge: as Kamal does


async def _mirror_hosts(run: Run, hosts: list[str]) -> list[str]:
    """One host per distinct first registry mirror (only with several app hosts)."""
    if len(hosts) < 2:
        return []
    infos = await run.on_hosts(hosts, lambda host: docker_ops.engine_info(run.host(host)))
    seen: dict[str, str] = {}
    for host in hosts:
        mirrors = ((infos.get(host) or {}).get("RegistryConfig") or {}).get("Mirrors") or []
        if mirrors:
            seen.setdefault(str(mirrors[0]), host)
    return list(seen.values())


async def pull_on_host(run: Run, host: str) -> None:
    config = run.config
    image = config.absolute_image
    remote = run.host(host)
    async with run.step(STEP_PULL, f"Pulling {image}", host=host), _diagnosed(run, host, "pull"):
        await audit.record(remote, config, f"Pulled image with version {config.version}")
        try:
            await app_docker.remove_image(remote, image, force=True)
        except docker_ops.DockerCommandError as error:  # Kamal ignores a failing `docker image rm`
            run.output(STEP_PULL, str(error), host=host, stream="stderr")
        async for line in docker_ops.pull_image(remote, image, registry_ops.registry_auth(run)):
            run.output(STEP_PULL, line, host=host)
        label = docker_images.image_label(await app_docker.inspect_image(remote, image), "service")
        if label != config.service:
            raise BuildError(f"Image {image} is missing the 'service' label")


async def deliver(run: Run) -> None:
    """`build deliver`: push, then pull."""
    await push(run)
    await pull(run)
