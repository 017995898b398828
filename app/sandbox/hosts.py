"""One sandbox host: its namespaces, its sshd and its own dockerd.

Every host shares the machine's filesystem except four places, which its persistent mount
namespace bind-mounts from the host's own directory: `/root` (the SSH user's $HOME, where Kamal
keeps `.kamal/` and accessory data), `/run` (so `/var/run/docker.sock` is this host's engine and
nothing of the machine's), `/tmp` and `/etc/resolv.conf` (a resolver that answers at once).
sshd and dockerd both run inside that mount namespace, the host's network namespace and a UTS
namespace named `sandbox-<i>`, so a path such as `$PWD/app-db/data` means the same directory to
the remote shell and to the engine.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.sandbox import layout, network
from app.sandbox.system import (
    SandboxError,
    is_mount_point,
    pid_from_file,
    pids_in_namespace,
    run,
    spawn_daemon,
    tcp_open,
    terminate,
    unix_http_ok,
    write_file,
)

DAEMON_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
              "LANG": "C.UTF-8"}
Log = Callable[[str], None]


@dataclass(frozen=True)
class Host:
    """Paths and names of host `index` of the fleet rooted at `root`."""

    root: Path
    index: int

    @property
    def name(self) -> str:
        return layout.host_name(self.index)

    @property
    def address(self) -> str:
        return layout.host_address(self.index)

    @property
    def dir(self) -> Path:
        return layout.host_dir(self.root, self.index)

    @property
    def home(self) -> Path:
        return self.dir / "home"

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    @property
    def tmp_dir(self) -> Path:
        return self.dir / "tmp"

    @property
    def etc(self) -> Path:
        return self.dir / "etc"

    @property
    def docker_data(self) -> Path:
        return self.dir / "docker"

    @property
    def docker_socket(self) -> Path:
        """The host engine's socket as the machine sees it (`/var/run/docker.sock` inside the host)."""
        return self.run_dir / "docker.sock"

    @property
    def mount_ns(self) -> Path:
        return self.root / "ns" / f"{self.name}.mnt"

    @property
    def uts_ns(self) -> Path:
        return self.root / "ns" / f"{self.name}.uts"

    @property
    def net_ns(self) -> Path:
        return network.netns_path(self.index)

    @property
    def cgroup_parent(self) -> str:
        return f"shipdeck-{self.name}"

    @property
    def sshd_config(self) -> Path:
        return self.etc / "sshd_config"

    @property
    def daemon_json(self) -> Path:
        return self.etc / "daemon.json"

    @property
    def resolv_conf(self) -> Path:
        return self.etc / "resolv.conf"

    @property
    def host_key(self) -> Path:
        return self.etc / "ssh_host_ed25519_key"

    def nsenter(self) -> list[str]:
        """Prefix that runs a command inside this host (network, mount and UTS namespaces)."""
        return ["nsenter", f"--net={self.net_ns}", f"--mount={self.mount_ns}", f"--uts={self.uts_ns}", "--"]


# --- files ---


def write_host_files(host: Host, client_public_key: str) -> dict[str, bool]:
    """Create the host's directories, host key and configs; report which configs changed."""
    for path, mode in ((host.dir, 0o755), (host.home, 0o700), (host.home / ".ssh", 0o700),
                       (host.run_dir, 0o755), (host.tmp_dir, 0o1777),
                       (host.etc, 0o755), (host.docker_data, 0o710), (host.dir / "log", 0o755)):
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
    if not host.host_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(host.host_key)])
    write_file(host.home / ".ssh" / "authorized_keys", client_public_key.strip() + "\n", 0o600)
    prepare_run_dir(host)
    resolver_changed = write_file(host.resolv_conf, RESOLV_CONF, 0o644)
    return {
        "sshd": write_file(host.sshd_config, sshd_config_text(host), 0o644),
        "dockerd": write_file(host.daemon_json, daemon_json_text(host), 0o644) or resolver_changed,
    }


# The machine's own /etc/resolv.conf names a nameserver the hosts cannot reach, so every lookup (dockerd
# resolving registry-1.docker.io before it asks the mirror) waited out its timeout: ~10 s per Hub pull.
# The hosts ask the bridge's machine side instead, where nothing listens on port 53: the lookup is refused
# at once (ICMP port unreachable) and nothing leaves the sandbox's own network.
RESOLV_CONF = f"nameserver {layout.GATEWAY}\noptions timeout:1 attempts:1\n"


def sshd_config_text(host: Host) -> str:
    return "\n".join([
        "# sshd of one sandbox host (written by `shipdeck sandbox up`)",
        f"ListenAddress {host.address}:22",
        f"HostKey {host.host_key}",
        "PidFile /run/sshd.pid",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "AllowTcpForwarding yes",
        "AllowStreamLocalForwarding yes",
        "X11Forwarding no",
        "PrintMotd no",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp internal-sftp",
        "",
    ])


def daemon_json_text(host: Host) -> str:
    config = {
        "data-root": str(host.docker_data),
        "exec-root": "/run/docker",  # inside the host's own /run
        "pidfile": "/run/docker.pid",
        "hosts": ["unix:///run/docker.sock"],
        "cgroup-parent": f"/{host.cgroup_parent}",
        "exec-opts": ["native.cgroupdriver=cgroupfs"],
        "deprecated-key-path": str(host.etc / "docker-key.json"),  # own engine ID
        "registry-mirrors": [f"http://{layout.MIRROR_REGISTRY}"],
        "insecure-registries": [layout.MIRROR_REGISTRY, layout.SELF_HOSTED_REGISTRY],
    }
    return json.dumps(config, indent=2) + "\n"


def host_public_key(host: Host) -> str:
    """`<type> <base64>` of the host's SSH host key (for known_hosts)."""
    return " ".join(host.host_key.with_name(host.host_key.name + ".pub").read_text().split()[:2])


# --- namespaces ---


def namespaces_ready(host: Host) -> bool:
    """The persistent mount and UTS namespaces exist with the host's /root, /run and resolver bound in."""
    if not (is_mount_point(host.mount_ns) and is_mount_point(host.uts_ns)):
        return False
    probe = run([*host.nsenter(), "sh", "-c", "hostname; cat /run/hostname; stat -c %i /root; cat /etc/resolv.conf"],
                check=False)
    expected = f"{host.name}\n{host.name}\n{os.stat(host.home).st_ino}\n{RESOLV_CONF}"
    return probe.returncode == 0 and probe.stdout == expected


def prepare_run_dir(host: Host) -> None:
    """What the host's /run needs before anything starts: sshd's privilege-separation dir, a marker."""
    (host.run_dir / "sshd").mkdir(parents=True, exist_ok=True)
    os.chmod(host.run_dir / "sshd", 0o755)
    write_file(host.run_dir / "hostname", host.name + "\n")


def create_namespaces(host: Host) -> None:
    prepare_run_dir(host)
    for ns_file in (host.mount_ns, host.uts_ns):
        ns_file.touch(exist_ok=True)
    ns_dir = host.mount_ns.parent
    # Inside the new namespace: drop our copies of other namespaces' files (so nothing keeps them
    # alive), then give the host its own /root, /run and /tmp.
    setup = (f"set -e; hostname {host.name}; umount -l {ns_dir} 2>/dev/null || true; "
             "umount -l /run/netns 2>/dev/null || true; "
             f"mount --bind {host.home} /root; mount --bind {host.run_dir} /run; "
             f"mount --bind {host.tmp_dir} /tmp; mount --bind {host.resolv_conf} /etc/resolv.conf")
    run(["unshare", f"--mount={host.mount_ns}", f"--uts={host.uts_ns}", "--propagation", "private",
         "sh", "-c", setup])
    if not namespaces_ready(host):
        raise SandboxError(f"the namespaces of {host.name} did not come up as expected")


def remove_namespaces(host: Host) -> None:
    for ns_file in (host.mount_ns, host.uts_ns):
        for _ in range(10):  # a file may carry stacked mounts after interrupted runs
            if not is_mount_point(ns_file):
                break
            run(["umount", str(ns_file)], check=False)
        with contextlib.suppress(OSError):
            ns_file.unlink(missing_ok=True)


# --- daemons ---


def dockerd_pid(host: Host) -> int | None:
    return pid_from_file(host.run_dir / "docker.pid", str(host.daemon_json))


def sshd_pid(host: Host) -> int | None:
    return pid_from_file(host.run_dir / "sshd.pid", str(host.sshd_config))


def dockerd_healthy(host: Host) -> bool:
    return dockerd_pid(host) is not None and unix_http_ok(host.docker_socket)


def sshd_healthy(host: Host) -> bool:
    return sshd_pid(host) is not None and tcp_open(host.address, 22)


def start_dockerd(host: Host) -> int:
    log = host.dir / "log" / "dockerd.log"
    return spawn_daemon([*host.nsenter(), "dockerd", "--config-file", str(host.daemon_json)], log,
                        env=DAEMON_ENV)


def start_sshd(host: Host) -> int:
    run([*host.nsenter(), "/usr/sbin/sshd", "-t", "-f", str(host.sshd_config)])  # needs the host's /run/sshd
    log = host.dir / "log" / "sshd.log"
    command = ["/usr/sbin/sshd", "-D", "-f", str(host.sshd_config), "-E", str(log)]
    return spawn_daemon([*host.nsenter(), *command], log, env=DAEMON_ENV)


def stop_sshd(host: Host) -> None:
    pid = sshd_pid(host)
    if pid:
        terminate([pid], grace=5)
    (host.run_dir / "sshd.pid").unlink(missing_ok=True)


def container_cgroup_dirs(host: Host) -> list[str]:
    """The cgroup directories (every v1 controller, or v2) under this host's cgroup parent."""
    return sorted(glob.glob(f"/sys/fs/cgroup/{host.cgroup_parent}")
                  + glob.glob(f"/sys/fs/cgroup/*/{host.cgroup_parent}"))


def host_pids(host: Host) -> list[int]:
    """Every process of the host: those in its mount namespace, its daemons, its containers."""
    pids = set(pids_in_namespace(host.mount_ns, "mnt"))
    pids.update(pid for pid in (dockerd_pid(host), sshd_pid(host)) if pid)
    for top in container_cgroup_dirs(host):
        for procs in glob.glob(f"{top}/**/cgroup.procs", recursive=True):
            try:
                pids.update(int(line) for line in Path(procs).read_text().split())
            except (OSError, ValueError):
                continue
    pids.discard(os.getpid())
    return sorted(pids)


def stop_runtime(host: Host, *, graceful: bool) -> int:
    """Stop everything running in the host and drop its mount/UTS namespaces; return how many processes."""
    pid = dockerd_pid(host)
    if graceful and pid:
        terminate([pid], grace=30)  # dockerd stops its containers first
    stop_sshd(host)
    leftovers = host_pids(host)
    terminate(leftovers, grace=5 if graceful else 0.5)
    for top in container_cgroup_dirs(host):
        for directory in sorted(glob.glob(f"{top}/**/", recursive=True), key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
    remove_namespaces(host)
    # Nothing runs in the host any more: what is left in its /run (pid files, sockets, containerd
    # state) is stale and would mislead the next dockerd (an unreaped pid looks alive).
    if host.run_dir.is_dir():
        for entry in host.run_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return len(leftovers) + (1 if pid else 0)


def ensure_host(host: Host, client_public_key: str, log: Log) -> bool:
    """Bring the host to a running state, reusing what runs; return True when dockerd was (re)started.

    After a crash or a killed CI job the namespaces may outlive their processes: whatever is not
    healthy is torn down and rebuilt; the data in the host's directory (home, images) is kept.
    """
    changed = write_host_files(host, client_public_key)
    if network.ensure_host_network(host.index):
        log(f"  {host.name}: network namespace {layout.netns_name(host.index)}, {host.address} on "
            f"{layout.BRIDGE} (created)")
        stop_runtime(host, graceful=False)  # anything left in it lost its network
    runtime_ok = namespaces_ready(host) and dockerd_healthy(host) and not changed["dockerd"]
    if not runtime_ok:
        killed = stop_runtime(host, graceful=True)
        if killed:
            log(f"  {host.name}: stopped {killed} stale process(es)")
        create_namespaces(host)
        log(f"  {host.name}: mount + UTS namespaces ({host.mount_ns.parent}/{host.name}.*), "
            f"/root={host.home}")
        pid = start_dockerd(host)
        log(f"  {host.name}: dockerd started (pid {pid}, data root {host.docker_data})")
    else:
        log(f"  {host.name}: dockerd running (pid {dockerd_pid(host)}) - reused")
    if sshd_healthy(host) and not changed["sshd"] and runtime_ok:
        log(f"  {host.name}: sshd running (pid {sshd_pid(host)}) - reused")
    else:
        stop_sshd(host)
        pid = start_sshd(host)
        log(f"  {host.name}: sshd started on {host.address}:22 (pid {pid})")
    return not runtime_ok


def wait_until_ready(host: Host, timeout: float = 60) -> None:
    from app.sandbox.system import wait_for

    wait_for(lambda: dockerd_healthy(host), timeout=timeout, what=f"dockerd of {host.name}",
             log_hint=host.dir / "log" / "dockerd.log")
    wait_for(lambda: sshd_healthy(host), timeout=timeout, what=f"sshd of {host.name}",
             log_hint=host.dir / "log" / "sshd.log")
