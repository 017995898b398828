"""A stand-in `docker buildx` CLI plugin, for the sandbox only.

Debian 12 ships no buildx and nothing can be downloaded here, yet Kamal's `build push` runs
`docker buildx version`, `inspect`, `create`, `rm` and `build --output=type=registry ...`. This
script answers those by running the classic builder (`DOCKER_BUILDKIT=0 docker build`) and then
`docker push` for each tag. It is NOT buildx: no BuildKit, no multi-platform builds, no build
secrets, no cache export. `shipdeck sandbox up` installs it as `<sandbox dir>/docker-config/
cli-plugins/docker-buildx`; it is used only where `DOCKER_CONFIG` points there (`shipdeck sandbox
env`, the test fixture), so the machine's own docker setup is left alone.

Standalone on purpose: it imports nothing from shipdeck.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VERSION = "v0.0.0-shipdeck-sandbox-standin"
METADATA = {
    "SchemaVersion": "0.1.0",
    "Vendor": "shipdeck sandbox",
    "Version": VERSION,
    "ShortDescription": "Stand-in for docker buildx (classic builder + push), sandbox only",
}
# Options of `buildx build` that take a value, and what the stand-in does with them.
VALUE_OPTIONS = {"-t", "--tag", "--label", "--build-arg", "-f", "--file", "--target", "--platform",
                 "--output", "-o", "--builder", "--cache-to", "--cache-from", "--secret", "--ssh",
                 "--provenance", "--sbom", "--progress", "--iidfile", "--metadata-file", "--network",
                 "--add-host", "--shm-size", "--ulimit", "--build-context", "--attest", "--annotation",
                 "--allow", "--call", "--cgroup-parent",
                 # create / inspect / rm
                 "--name", "--driver", "--driver-opt", "--buildkitd-flags", "--buildkitd-config", "--config",
                 "--node"}
PASSED_THROUGH = {"--label", "--build-arg", "--target", "--network", "--add-host", "--shm-size", "--ulimit",
                  "--cgroup-parent"}
UNSUPPORTED = {"--secret": "build secrets", "--ssh": "SSH forwarding",
               "--build-context": "named build contexts"}


class StandInError(Exception):
    pass


def state_file() -> Path:
    config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    return config_dir / "buildx-standin" / "builders.json"


def load_builders() -> dict[str, dict[str, str]]:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return {}


def save_builders(builders: dict[str, dict[str, str]]) -> None:
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(builders, indent=2))


def split_options(args: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(options in order, positional arguments); `--opt=value` and `--opt value` are both accepted."""
    options: list[tuple[str, str | None]] = []
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-") and arg != "-":
            name, equals, value = arg.partition("=")
            if equals:
                options.append((name, value))
            elif name in VALUE_OPTIONS:
                if index + 1 >= len(args):
                    raise StandInError(f"flag needs an argument: {name}")
                options.append((name, args[index + 1]))
                index += 1
            else:
                options.append((name, None))
        else:
            positional.append(arg)
        index += 1
    return options, positional


def parse_output(value: str) -> dict[str, str]:
    fields = dict(part.partition("=")[::2] for part in value.split(","))
    if "type" not in fields and "=" not in value:
        fields = {"type": "local", "dest": value}
    return fields


def engine_platform() -> str:
    result = subprocess.run(["docker", "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or "linux/amd64"


def plan_build(args: list[str], platform: str) -> tuple[list[str], list[str]]:
    """The classic `docker build` command and the tags to push afterwards, for `buildx build ARGS`."""
    options, positional = split_options(args)
    if len(positional) != 1:
        raise StandInError('"docker buildx build" requires exactly 1 argument (the build context)')
    build = ["docker", "build"]
    tags: list[str] = []
    push = False
    for name, value in options:
        if name in UNSUPPORTED:
            raise StandInError(f"{UNSUPPORTED[name]} ({name}) need BuildKit; the sandbox's buildx stand-in "
                               "uses the classic builder")
        if name in ("-t", "--tag"):
            tags.append(value or "")
            build += ["-t", value or ""]
        elif name in PASSED_THROUGH:
            build += [name, value or ""]
        elif name in ("-f", "--file"):
            build += ["--file", value or ""]
        elif name in ("--no-cache", "--pull", "-q", "--quiet"):
            build.append(name)
        elif name == "--push":
            push = True
        elif name in ("-o", "--output"):
            output = parse_output(value or "")
            if output.get("type") == "registry" or output.get("push") == "true":
                push = True
            elif output.get("type") not in ("docker", "image"):
                raise StandInError(f"--output type {output.get('type')!r} is not supported by the stand-in")
        elif name == "--platform":
            wanted = [p.strip() for p in (value or "").split(",") if p.strip()]
            if any(p != platform for p in wanted):
                raise StandInError(f"the stand-in builds only for this engine's platform ({platform}), "
                                   f"not {','.join(wanted)}")
        # --builder, --cache-*, --provenance, --sbom, --progress, --load... have no classic equivalent
        # that changes the image; they are accepted and ignored.
    if push and not tags:
        raise StandInError("--output=type=registry needs at least one -t/--tag")
    build.append(positional[0])
    return build, tags if push else []


def command_build(args: list[str]) -> int:
    build, push_tags = plan_build(args, engine_platform())
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    status = subprocess.run(build, env=env, check=False).returncode
    if status != 0:
        return status
    for tag in push_tags:
        status = subprocess.run(["docker", "push", tag], check=False).returncode
        if status != 0:
            return status
    return 0


def describe(name: str, driver: str, platform: str) -> str:
    return (f"Name:          {name}\nDriver:        {driver}\n\nNodes:\nName:      {name}0\n"
            f"Endpoint:  unix:///var/run/docker.sock\nStatus:    running\nPlatforms: {platform}\n")


def command_builders(subcommand: str, args: list[str]) -> int:
    builders = load_builders()
    options, positional = split_options(args)
    values = dict(options)
    if subcommand == "create":
        name = values.get("--name") or f"standin{len(builders)}"
        builders[name] = {"driver": values.get("--driver") or "docker-container"}
        save_builders(builders)
        print(name)
        return 0
    if subcommand == "inspect":
        name = positional[0] if positional else values.get("--builder") or "default"
        if name == "default":
            sys.stdout.write(describe("default", "docker", engine_platform()))
            return 0
        if name not in builders:
            raise StandInError(f'no builder "{name}" found')
        sys.stdout.write(describe(name, builders[name]["driver"], engine_platform()))
        return 0
    if subcommand == "rm":
        for name in positional or ["default"]:
            if name not in builders:
                raise StandInError(f'no builder "{name}" found')
            del builders[name]
        save_builders(builders)
        return 0
    if subcommand == "ls":
        print("NAME/NODE   DRIVER/ENDPOINT   STATUS    PLATFORMS")
        print(f"default *   docker            running   {engine_platform()}")
        for name, builder in builders.items():
            print(f"{name}   {builder['driver']}   running   {engine_platform()}")
        return 0
    return 0  # use, stop, prune, du: nothing to do with the classic builder


def main(argv: list[str]) -> int:
    if argv[:1] == ["docker-cli-plugin-metadata"]:
        print(json.dumps(METADATA))
        return 0
    args = argv[1:] if argv[:1] == ["buildx"] else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print("Usage: docker buildx {build,version,create,inspect,rm,ls} (shipdeck sandbox stand-in)")
        return 0
    subcommand, rest = args[0], args[1:]
    try:
        if subcommand == "version":
            print(f"github.com/docker/buildx {VERSION} shipdeck-sandbox")
            return 0
        if subcommand in ("build", "b"):
            return command_build(rest)
        if subcommand in ("create", "inspect", "rm", "ls", "use", "stop", "prune", "du"):
            return command_builders(subcommand, rest)
        raise StandInError(f"unknown command {subcommand!r} (the sandbox's buildx stand-in knows build, "
                           "version, create, inspect, rm, ls)")
    except StandInError as error:
        sys.stderr.write(f"ERROR: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
