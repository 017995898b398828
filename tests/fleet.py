"""The sandbox fleet as a pytest fixture, for any test folder.

A conftest imports `sandbox` and `demo_project` from here. `sandbox` brings the fleet up once per
session (`shipdeck sandbox up` reuses a running one, so it is cheap after the first time) and hands
tests everything they need to reach it; `demo_project` gives each test that asks a fresh copy of
the demo Kamal project.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.sandbox import layout
from tests.image_recipe import recipe_tag

HOST_COUNT = 3
PROBE_REPOSITORY = "sandbox-probe"  # a tiny image (sh, cat, sleep, ls) pushed into the mirror by the fixture
PROBE_BINARIES = ("/bin/sh", "/bin/cat", "/bin/sleep", "/bin/ls", "/bin/echo", "/bin/mkdir", "/bin/hostname")


@dataclass(frozen=True)
class SandboxHost:
    index: int
    name: str
    address: str


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox fleet: hosts, SSH files, registries and credentials."""

    root: Path
    hosts: tuple[SandboxHost, ...]
    ssh_key: Path
    ssh_config: Path
    known_hosts: Path
    private_registry: str
    self_hosted_registry: str
    mirror_registry: str  # as the hosts' engines see it
    mirror_registry_local: str  # as this machine's engine pushes to it
    registry_username: str
    registry_password: str
    postgres_password: str
    ca_cert: Path
    docker_config: Path
    images: tuple[str, ...]
    demo_source: Path | None
    probe_image: str = ""  # set by the `sandbox` fixture once the probe image is in the mirror

    def host(self, which: SandboxHost | int | str) -> SandboxHost:
        """A host by object, 1-based index, name (`sandbox-2`) or address."""
        if isinstance(which, SandboxHost):
            return which
        for host in self.hosts:
            if which in (host.index, host.name, host.address):
                return host
        raise KeyError(f"no sandbox host {which!r}")

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Environment for Kamal/docker/shipdeck run against the sandbox (buildx stand-in, secrets)."""
        env = dict(os.environ if base is None else base)
        env.update(DOCKER_CONFIG=str(self.docker_config), SHIPDECK_SANDBOX_DIR=str(self.root),
                   KAMAL_REGISTRY_PASSWORD=self.registry_password, POSTGRES_PASSWORD=self.postgres_password)
        env.pop("DOCKER_HOST", None)
        return env

    def ssh_argv(self, host: SandboxHost | int | str, command: str, *options: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", *options,
                f"root@{self.host(host).address}", command]

    def run(self, host: SandboxHost | int | str, command: str, *, input: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a host over SSH (as Kamal does: in root's $HOME)."""
        result = subprocess.run(self.ssh_argv(host, command), input=input, capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"on {self.host(host).name}: {command!r} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def nsenter(self, host: SandboxHost | int | str, argv: Sequence[str], *, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command inside a host's namespaces without SSH."""
        index = self.host(host).index
        name = layout.host_name(index)
        prefix = ["nsenter", f"--net=/run/netns/{layout.netns_name(index)}",
                  f"--mount={self.root}/ns/{name}.mnt", f"--uts={self.root}/ns/{name}.uts", "--"]
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=check)

    def docker_socket(self, host: SandboxHost | int | str) -> Path:
        """The host engine's socket as this machine sees it (`/var/run/docker.sock` on the host)."""
        return layout.host_dir(self.root, self.host(host).index) / "run" / "docker.sock"

    def copy_demo(self, destination: Path) -> Path:
        if self.demo_source is None:
            raise AssertionError("the sandbox has no demo project (app/sandbox/demo_project.py not ready)")
        shutil.copytree(self.demo_source, destination, symlinks=True)
        return destination


def load(root: Path) -> Sandbox:
    """The Sandbox described by `<root>/sandbox.json` (written by `sandbox up`)."""
    state = json.loads((root / "sandbox.json").read_text())
    hosts = tuple(SandboxHost(int(index), value["name"], value["address"])
                  for index, value in sorted(state["hosts"].items(), key=lambda item: int(item[0])))
    return Sandbox(
        root=root, hosts=hosts, ssh_key=Path(state["ssh_key"]), ssh_config=Path(state["ssh_config"]),
        known_hosts=Path(state["known_hosts"]), private_registry=state["private_registry"],
        self_hosted_registry=state["self_hosted_registry"], mirror_registry=state["mirror_registry"],
        mirror_registry_local=state["mirror_registry_local"], registry_username=state["registry_username"],
        registry_password=Path(state["registry_password_file"]).read_text().strip(),
        postgres_password=Path(state["postgres_password_file"]).read_text().strip(),
        ca_cert=Path(state["ca_cert"]), docker_config=Path(state["docker_config"]),
        images=tuple(state.get("images") or ()),
        demo_source=Path(state["demo_project"]) if state.get("demo_project") else None,
    )


def probe_files() -> list[str]:
    """The probe's binaries and the libraries they load, as absolute paths on this machine."""
    files: set[str] = set()
    for binary in PROBE_BINARIES:
        files.add(binary)
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        files.update(word for word in ldd.split() if word.startswith("/"))
    return sorted(files)


def probe_rootfs_tar(destination: Path, files: list[str]) -> Path:
    """A tar of a minimal root filesystem: a few of this machine's binaries and their libraries."""
    with tarfile.open(destination, "w") as tar:
        for path in files:
            tar.add(os.path.realpath(path), arcname=path.lstrip("/"))
    return destination


def probe_image_name(files: list[str]) -> str:
    """`sandbox-probe:<hash>` of the recipe: the tar function and every file's path and bytes."""
    return recipe_tag(PROBE_REPOSITORY, probe_rootfs_tar,
                      [text for path in files for text in (path, Path(os.path.realpath(path)))])


def push_probe_image(sandbox: Sandbox) -> str:
    """Build the probe image into this machine's engine and push it to the mirror under a Hub name."""
    from app.sandbox.mirror import machine_docker_env, push_to_mirror

    env = machine_docker_env()
    files = probe_files()
    name = probe_image_name(files)
    if subprocess.run(["docker", "image", "inspect", name], capture_output=True, env=env).returncode:
        with tempfile.TemporaryDirectory() as scratch:
            tar = probe_rootfs_tar(Path(scratch) / "rootfs.tar", files)
            subprocess.run(["docker", "import", "--change", 'CMD ["/bin/sh"]', str(tar), name],
                           capture_output=True, text=True, env=env, check=True)
    push_to_mirror(sandbox.root, [name], lambda line: None)
    return name


def bring_up(host_count: int = HOST_COUNT) -> Sandbox:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("the sandbox needs root on Linux")
    from app.sandbox import fleet

    root = Path(os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)
    lines: list[str] = []
    try:
        fleet.up(root, host_count, lines.append)
    except Exception as error:  # show what up printed before it failed
        raise AssertionError("shipdeck sandbox up failed:\n" + "\n".join(lines) + f"\n{error}") from error
    return load(root)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The running sandbox fleet (brought up once per session, reused if it already runs)."""
    running = bring_up()
    return dataclasses.replace(running, probe_image=push_probe_image(running))


@pytest.fixture
def demo_project(sandbox: Sandbox, tmp_path: Path) -> Path:
    """A fresh copy of the demo Kamal project (a git repo) for this test."""
    return sandbox.copy_demo(tmp_path / "demo")
