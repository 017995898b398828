"""`sandbox up / down / status`: the whole fleet, built idempotently under one lock.

`up` reuses whatever runs and is healthy and rebuilds the rest, so it also recovers from a killed
earlier run (stale namespaces, mounts, pid files, dead daemons). `down` removes exactly what `up`
made: the hosts' processes and namespaces, the registries, the bridge, the mounts and the CA file
under /etc/docker/certs.d, and any bare host (`bare_hosts`) still there; `--purge` also deletes the
sandbox dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app.errors import UsageError
from app.sandbox import hosts as host_ops
from app.sandbox import layout, network, registries
from app.sandbox.hosts import Host
from app.sandbox.machine_engine import ensure_machine_engine
from app.sandbox.system import (
    SandboxError,
    is_mount_point,
    mount_points,
    require_root_linux,
    run,
    unmount_all_under,
    write_file,
)

Log = Callable[[str], None]
LOCK_FILE = Path("/run/shipdeck-sandbox.lock")
FORBIDDEN_PARENTS = ("/root", "/run", "/var/run", "/tmp", "/proc", "/sys", "/dev")


def state_path(root: Path) -> Path:
    return root / "sandbox.json"


def check_root_dir(root: Path) -> Path:
    """The sandbox dir must be absolute and outside the paths each host overrides (/root, /run, /tmp)."""
    if not root.is_absolute():
        root = Path.cwd() / root
    resolved = Path(os.path.realpath(root))
    for parent in FORBIDDEN_PARENTS:
        if resolved == Path(parent) or str(resolved).startswith(parent + "/"):
            raise UsageError(f"--dir {root}: the sandbox dir cannot be under {parent} (each host has its own "
                             f"{parent}); use e.g. {layout.DEFAULT_DIR}")
    longest_socket = layout.host_dir(resolved, layout.MAX_HOSTS) / "run" / "docker" / "containerd" / "x.sock"
    if len(str(longest_socket)) > 100:
        raise UsageError(f"--dir {root}: path too long for unix sockets; use a shorter one")
    return resolved


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One `up`/`down` at a time on this machine (parallel test runs all call `up`).

    The lock file lives outside the sandbox dir so that `down --purge` can delete the dir while
    holding it, and machine-wide because the bridge, addresses and ports are.
    """
    with open(LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            root.mkdir(parents=True, exist_ok=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(root: Path) -> dict:
    try:
        return json.loads(state_path(root).read_text())
    except (OSError, ValueError):
        return {}


def ensure_ns_dir(root: Path) -> None:
    """The dir holding the persistent mount/UTS namespace files must be a private mount."""
    ns_dir = root / "ns"
    ns_dir.mkdir(parents=True, exist_ok=True)
    if not is_mount_point(ns_dir):
        run(["mount", "--bind", str(ns_dir), str(ns_dir)])
    run(["mount", "--make-private", str(ns_dir)])


def ensure_client_key(root: Path) -> str:
    key = layout.ssh_key_path(root)
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(key.parent, 0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shipdeck-sandbox", "-f", str(key)])
    return key.with_name(key.name + ".pub").read_text()


def write_ssh_files(root: Path, fleet: list[Host]) -> None:
    known = [f"{h.address},{h.name} {host_ops.host_public_key(h)}" for h in fleet]
    write_file(layout.known_hosts_path(root), "\n".join(known) + "\n", 0o644)
    blocks = ["# SSH client config for the sandbox hosts (written by `shipdeck sandbox up`)"]
    for h in fleet:
        blocks.append("\n".join([
            f"Host {h.name} {h.address}",
            f"  HostName {h.address}",
            f"  User {layout.SSH_USER}",
            f"  IdentityFile {layout.ssh_key_path(root)}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {layout.known_hosts_path(root)}",
            "  StrictHostKeyChecking yes",
            "  ConnectTimeout 10",
        ]))
    write_file(layout.ssh_config_path(root), "\n\n".join(blocks) + "\n", 0o644)


def install_buildx_standin(root: Path) -> Path:
    """Put the buildx stand-in where the docker CLI finds it when DOCKER_CONFIG is the sandbox's."""
    source = Path(__file__).with_name("buildx_plugin.py").read_text()
    target = layout.docker_config_dir(root) / "cli-plugins" / "docker-buildx"
    write_file(target, f"#!{sys.executable}\n{source}", 0o755)
    return target


def provision_images(root: Path, log: Log) -> list[str]:
    try:
        from app.sandbox.images import build_images
    except ImportError:
        log("  images: app/sandbox/images.py is missing - skipped")
        return []
    try:
        names = build_images(log=lambda line: log(f"  {line}"))
    except NotImplementedError as error:
        log(f"  images: skipped ({error})")
        return []
    from app.sandbox.mirror import push_to_mirror

    pushed = push_to_mirror(root, names, log)
    log(f"  images in the mirror: {', '.join(names)}" + ("" if pushed else " (all up to date)"))
    return names


def provision_demo(root: Path, fleet: list[Host], log: Log) -> Path | None:
    try:
        from app.sandbox import demo_project
    except ImportError:
        log("  demo project: app/sandbox/demo_project.py is missing - skipped")
        return None
    destination = layout.demo_project_dir(root)
    arguments = {"hosts": [h.address for h in fleet], "registry": layout.PRIVATE_REGISTRY,
                 "registry_username": layout.REGISTRY_USERNAME, "ssh_config": layout.ssh_config_path(root)}
    material = json.dumps(arguments, default=str) + inspect.getsource(demo_project)
    fingerprint = hashlib.sha256(material.encode())
    stamp = root / "demo.fingerprint"
    if destination.exists() and stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        return destination
    staging = destination.with_name("demo.new")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        demo_project.write_demo_project(staging, **arguments)
    except NotImplementedError as error:
        log(f"  demo project: skipped ({error})")
        shutil.rmtree(staging, ignore_errors=True)
        return None
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    stamp.write_text(fingerprint.hexdigest())
    log(f"  demo project: {destination} (written)")
    return destination


def up(root: Path, host_count: int, log: Log = print, *, images: bool = True) -> dict:
    """Bring the fleet up (or repair it); return the state written to sandbox.json."""
    require_root_linux()
    root = check_root_dir(root)
    if not 1 <= host_count <= layout.MAX_HOSTS:
        raise UsageError(f"--hosts {host_count}: choose between 1 and {layout.MAX_HOSTS}")
    started = time.monotonic()
    with locked(root):
        log(f"sandbox dir: {root}")
        ensure_machine_engine(log)
        ensure_ns_dir(root)
        if network.ensure_bridge():
            log(f"  bridge {layout.BRIDGE} {layout.GATEWAY}/{layout.PREFIX_LENGTH} (created)")
        credentials = registries.ensure_registries(root, log)
        public_key = ensure_client_key(root)
        fleet = [Host(root, i) for i in range(1, host_count + 1)]
        extra = {i for i in network.leftover_host_indexes() if i > host_count}
        extra |= {int(k) for k in read_state(root).get("hosts", {}) if int(k) > host_count}
        for index in sorted(extra):
            remove_host(Host(root, index), log)
        for host in fleet:
            host_ops.ensure_host(host, public_key, log)
        for host in fleet:
            host_ops.wait_until_ready(host)
        write_ssh_files(root, fleet)
        plugin = install_buildx_standin(root)
        log(f"  docker buildx stand-in (sandbox only): {plugin}")
        image_names = provision_images(root, log) if images else []
        demo = provision_demo(root, fleet, log)
        state = {
            "dir": str(root),
            "hosts": {str(h.index): {"name": h.name, "address": h.address} for h in fleet},
            "ssh_key": str(layout.ssh_key_path(root)),
            "ssh_config": str(layout.ssh_config_path(root)),
            "known_hosts": str(layout.known_hosts_path(root)),
            "registry_username": credentials["username"],
            "registry_password_file": str(registries.password_path(root)),
            "postgres_password_file": str(registries.postgres_password_path(root)),
            "private_registry": layout.PRIVATE_REGISTRY,
            "self_hosted_registry": layout.SELF_HOSTED_REGISTRY,
            "mirror_registry": layout.MIRROR_REGISTRY,
            "mirror_registry_local": layout.MIRROR_REGISTRY_LOCAL,
            "ca_cert": str(layout.ca_cert_path(root)),
            "docker_config": str(layout.docker_config_dir(root)),
            "images": image_names,
            "demo_project": str(demo) if demo else None,
        }
        write_file(state_path(root), json.dumps(state, indent=2) + "\n")
    log(f"sandbox up: {host_count} host(s) ready in {time.monotonic() - started:.1f} s")
    for host in fleet:
        log(f"  ssh -F {layout.ssh_config_path(root)} root@{host.address}    # {host.name}")
    log(f"  registry {layout.PRIVATE_REGISTRY} user {credentials['username']}, password in "
        f"{registries.password_path(root)}")
    log("  for Kamal and docker buildx here: eval \"$(shipdeck sandbox env)\"")
    return state


def remove_host(host: Host, log: Log) -> None:
    stopped = host_ops.stop_runtime(host, graceful=True)
    removed = network.remove_host_network(host.index)
    if stopped or removed:
        log(f"  {host.name}: stopped {stopped} process(es), removed its namespaces")


def known_host_indexes(root: Path) -> list[int]:
    indexes = set(network.leftover_host_indexes())
    indexes |= {int(k) for k in read_state(root).get("hosts", {})}
    hosts_dir = root / "hosts"
    if hosts_dir.is_dir():
        prefix = layout.host_name(0)[:-1]
        indexes |= {int(p.name[len(prefix):]) for p in hosts_dir.iterdir()
                    if p.name.startswith(prefix) and p.name[len(prefix):].isdigit()}
    return sorted(indexes)


def down(root: Path, *, purge: bool, log: Log = print) -> None:
    require_root_linux()
    root = check_root_dir(root)
    if not root.exists():
        log(f"sandbox down: nothing at {root}")
        return
    with locked(root):
        from app.sandbox import bare_hosts

        bare_hosts.remove_all(root, log)
        for index in known_host_indexes(root):
            remove_host(Host(root, index), log)
        for registry in registries.REGISTRIES:
            if registries.stop_registry(root, registry):
                log(f"  registry {registry.name}: stopped")
        if network.remove_bridge():
            log(f"  bridge {layout.BRIDGE}: removed")
        if registries.remove_machine_ca(root):
            log(f"  {registries.MACHINE_CERTS_DIR}: removed")
        unmount_all_under(root / "ns")
        state_path(root).unlink(missing_ok=True)
        if purge:
            unmount_all_under(root)
            leftover = [p for p in mount_points() if p == str(root) or p.startswith(f"{root}/")]
            if leftover:
                raise SandboxError(f"not deleting {root}: still mounted: {', '.join(leftover)}")
            try:
                shutil.rmtree(root)
            except OSError as error:
                raise SandboxError(f"could not delete {root}: {error}") from error
            log(f"  {root}: deleted")
    log("sandbox down: done")


def status(root: Path, log: Log = print) -> bool:
    """Print the state of every part; True when everything `up` made is running."""
    root = check_root_dir(root)
    state = read_state(root)
    if not state:
        log(f"sandbox: not up (no {state_path(root)})")
        return False
    ok = True
    bridge_up = run(["ip", "-o", "link", "show", layout.BRIDGE], check=False).returncode == 0
    ok &= bridge_up
    log(f"sandbox dir {root}; bridge {layout.BRIDGE}: {'up' if bridge_up else 'MISSING'}")
    for index in sorted(int(k) for k in state["hosts"]):
        host = Host(root, index)
        dockerd = host_ops.dockerd_healthy(host)
        sshd = host_ops.sshd_healthy(host)
        ok &= dockerd and sshd
        log(f"  {host.name} {host.address}: sshd {'running' if sshd else 'DOWN'}, "
            f"dockerd {'running' if dockerd else 'DOWN'}")
    for registry in registries.REGISTRIES:
        healthy = registries.healthy(root, registry)
        ok &= healthy
        log(f"  registry {registry.name} {registry.address}: {'running' if healthy else 'DOWN'}")
    log(f"  ssh: ssh -F {state['ssh_config']} root@{layout.host_address(1)}")
    return ok


def env_lines(root: Path) -> list[str]:
    """Shell exports for using the sandbox from this machine (secrets are read from their files)."""
    root = check_root_dir(root)
    return [
        f"export SHIPDECK_SANDBOX_DIR={root}",
        f"export DOCKER_CONFIG={layout.docker_config_dir(root)}",
        f'export KAMAL_REGISTRY_PASSWORD="$(cat {registries.password_path(root)})"',
        f'export POSTGRES_PASSWORD="$(cat {registries.postgres_password_path(root)})"',
    ]
