"""Fixed layout of the sandbox fleet: addresses, ports, names and paths.

Every sandbox module (and the image builder, the demo project writer and the test fixtures) reads
these constants; nobody re-spells an address or a port. The addresses exist only inside this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

BRIDGE = "sdbr0"
SUBNET = "10.77.0.0/24"
PREFIX_LENGTH = 24
GATEWAY = "10.77.0.1"  # the machine's side of the bridge; registries listen here
HOST_BASE = 10  # host i (1-based) is 10.77.0.(10 + i)
DEFAULT_HOSTS = 3
MAX_HOSTS = 20
BARE_HOST_BASE = 40  # bare host i (1-based) is 10.77.0.(40 + i): no Docker until `server bootstrap` installs it
MAX_BARE_HOSTS = 9

PRIVATE_REGISTRY_PORT = 5000  # TLS + docker login (sandbox CA)
SELF_HOSTED_REGISTRY_PORT = 5050  # plain HTTP + auth, like a self-hosted GitLab registry
MIRROR_REGISTRY_PORT = 5001  # plain HTTP, no auth: Docker Hub names for the hosts' engines

PRIVATE_REGISTRY = f"{GATEWAY}:{PRIVATE_REGISTRY_PORT}"
SELF_HOSTED_REGISTRY = f"{GATEWAY}:{SELF_HOSTED_REGISTRY_PORT}"
MIRROR_REGISTRY = f"{GATEWAY}:{MIRROR_REGISTRY_PORT}"  # as the hosts see it
MIRROR_REGISTRY_LOCAL = f"127.0.0.1:{MIRROR_REGISTRY_PORT}"  # as the machine's own engine pushes to it

# Where the bare hosts' resolver (/etc/hosts) sends Docker's download names: the sandbox's stand-in for
# get.docker.com (the install script) and download.docker.com (a package repository), HTTPS with the sandbox CA.
DOCKER_DOWNLOAD_NAMES = ("get.docker.com", "download.docker.com")
DOCKER_DOWNLOAD_PORT = 443

REGISTRY_USERNAME = "shipdeck"
SSH_USER = "root"

DEFAULT_DIR = Path(os.environ.get("SHIPDECK_SANDBOX_DIR", "/var/lib/shipdeck-sandbox"))
MACHINE_DOCKER_SOCKET = Path("/var/run/docker.sock")


def host_name(index: int) -> str:
    """Name (and UTS hostname) of host `index` (1-based)."""
    return f"sandbox-{index}"


def host_address(index: int) -> str:
    """Private address of host `index` (1-based)."""
    return f"10.77.0.{HOST_BASE + index}"


def bare_host_name(index: int) -> str:
    return f"sandbox-bare-{index}"


def bare_host_address(index: int) -> str:
    return f"10.77.0.{BARE_HOST_BASE + index}"


def bare_netns_name(index: int) -> str:
    return f"shipdeck-bare{index}"


def netns_name(index: int) -> str:
    """Name of the network namespace of host `index` (listed by `ip netns`)."""
    return f"shipdeck-sbx{index}"


# Files under the sandbox dir (the dir itself may be chosen with `sandbox up --dir`).
def ssh_key_path(root: Path) -> Path:
    return root / "ssh" / "id_ed25519"


def ssh_config_path(root: Path) -> Path:
    return root / "ssh_config"


def known_hosts_path(root: Path) -> Path:
    return root / "known_hosts"


def credentials_path(root: Path) -> Path:
    """JSON with the registry username/password (mode 0600)."""
    return root / "registry-credentials.json"


def ca_cert_path(root: Path) -> Path:
    return root / "ca" / "ca.crt"


def docker_config_dir(root: Path) -> Path:
    """DOCKER_CONFIG for sandbox use: holds the buildx stand-in under cli-plugins/."""
    return root / "docker-config"


def demo_project_dir(root: Path) -> Path:
    return root / "demo"


def host_dir(root: Path, index: int) -> Path:
    """Everything of host `index`: its $HOME (`home/`), docker data, sshd files, namespace files."""
    return root / "hosts" / host_name(index)


def bare_dir(root: Path) -> Path:
    """The bare hosts, their cached root filesystems and the Docker download stand-in."""
    return root / "bare"


def bare_ssh_config_path(root: Path) -> Path:
    return bare_dir(root) / "ssh_config"
