"""Fixtures for the Docker-command tests: the busybox test image, a private network, a temporary
"home" for Kamal's relative paths, aiodocker both direct and through a real SSH connection."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from inspect import getsource
from pathlib import Path

import aiodocker
import pytest

from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget
from tests.image_recipe import recipe_tag

DOCKER_CLI = "/usr/local/bin/docker"
TEST_REPOSITORY = "shipdeck-test/bb"
BUSYBOX_DIRS = ("tmp", "etc", "proc", "sys", "dev")
BUSYBOX_FILES = {"etc/group": "root:x:0:\naudio:x:29:\n", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"}


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER_CLI, *args], capture_output=True, text=True, check=check, **kwargs)


def busybox_binary() -> Path:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox-static is needed for the docker tests (`.ci/install-deps` installs it)")
    return Path(os.path.realpath(busybox))


def busybox_rootfs(rootfs: Path, busybox: Path) -> None:
    """A root filesystem of one static busybox with a relative link per applet (`bin/sh -> busybox`).

    `busybox --install -s DIR` would link to the absolute path of this temporary directory, which
    dangles inside a container.
    """
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(busybox, rootfs / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (rootfs / "bin" / applet).symlink_to("busybox")
    for folder in BUSYBOX_DIRS:
        (rootfs / folder).mkdir(exist_ok=True)
    for relative, text in BUSYBOX_FILES.items():
        (rootfs / relative).write_text(text)


def build_busybox_image(name: str, busybox: Path) -> None:
    """A ~2 MB image from the static busybox on this machine: `CMD sleep 3600`."""
    with tempfile.TemporaryDirectory() as scratch:
        rootfs = Path(scratch) / "rootfs"
        busybox_rootfs(rootfs, busybox)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([DOCKER_CLI, "import", "-c", 'CMD ["sleep", "3600"]', "-", name], stdin=tar.stdout,
                       check=True, capture_output=True)
        tar.wait()


def busybox_image_tag(busybox: Path) -> str:
    """The test image's name: a hash of the recipe (the functions above, the binary, the files)."""
    return recipe_tag(TEST_REPOSITORY, busybox_rootfs, [busybox, repr(BUSYBOX_DIRS), repr(BUSYBOX_FILES),
                                                        getsource(build_busybox_image)])


@pytest.fixture(scope="session")
def test_image() -> str:
    busybox = busybox_binary()
    name = busybox_image_tag(busybox)
    if docker("image", "inspect", name, check=False).returncode != 0:
        build_busybox_image(name, busybox)
    return name


@pytest.fixture(scope="session")
def run_id() -> str:
    """A prefix for every container, volume and network the tests create, so cleanup finds them."""
    return f"sdt{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def test_network(run_id: str) -> Iterator[str]:
    name = f"{run_id}-kamal"
    docker("network", "create", name)
    yield name
    leftovers = docker("ps", "-aq", "--filter", f"name={run_id}", check=False).stdout.split()
    if leftovers:
        docker("rm", "-f", "-v", *leftovers, check=False)
    docker("network", "rm", name, check=False)
    volumes = docker("volume", "ls", "-q", "--filter", f"name={run_id}", check=False).stdout.split()
    if volumes:
        docker("volume", "rm", *volumes, check=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Stands for the SSH user's home: Kamal's relative paths and $PWD resolve here."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
async def local_docker() -> AsyncIterator[aiodocker.Docker]:
    client = aiodocker.Docker(url="unix:///var/run/docker.sock")
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def remote_docker(loopback_sshd) -> AsyncIterator[aiodocker.Docker]:
    """aiodocker over the docker socket forwarded through a real SSH connection, as in production."""
    host = RemoteHost(SSHTarget(host="127.0.0.1", port=loopback_sshd.port, keys=(str(loopback_sshd.client_key),),
                                keys_only=True, config=False, known_hosts=(str(loopback_sshd.known_hosts),)))
    yield await host.docker()
    await host.close()


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", "--type", "container", name).stdout)[0]


def remove(*names: str) -> None:
    docker("rm", "-f", "-v", *names, check=False)


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


@dataclass
class AuthRegistry:
    address: str
    username: str
    password: str
    image: str  # the test image, pushed under `<address>/shipdeck-test/bb:1`


@pytest.fixture(scope="session")
def auth_registry(test_image: str, run_id: str, tmp_path_factory) -> Iterator[AuthRegistry]:
    """A real registry (distribution, Debian's docker-registry) on loopback with htpasswd auth."""
    folder = tmp_path_factory.mktemp("registry")
    username, password = "deployer", f"pw-{run_id}"
    hashed = subprocess.run(["htpasswd", "-Bbn", username, password], capture_output=True, text=True, check=True)
    (folder / "htpasswd").write_text(hashed.stdout)
    port = _free_port()
    (folder / "config.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {folder / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
        f"auth: {{htpasswd: {{realm: shipdeck-test, path: {folder / 'htpasswd'}}}}}\n")
    process = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    image = f"{address}/shipdeck-test/bb:1"
    try:
        _wait_for_port(port)
        client = {"DOCKER_CONFIG": str(folder / "client")}
        subprocess.run([DOCKER_CLI, "login", address, "-u", username, "--password-stdin"], input=password,
                       env=cli_env(**client), check=True, capture_output=True, text=True)
        docker("tag", test_image, image)
        docker("push", image, env=cli_env(**client))
        docker("image", "rm", image)
        yield AuthRegistry(address, username, password, image)
    finally:
        docker("image", "rm", "-f", image, check=False)
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"the test registry did not listen on port {port}")
