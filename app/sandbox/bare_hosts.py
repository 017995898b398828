"""Bare sandbox hosts: servers without Docker, for `server bootstrap` to install it on.

Unlike the fleet's hosts, which share the machine's filesystem and Docker, a bare host has a root
filesystem of its own: an overlay of the bare host image (Debian with openssh-server, curl and sudo,
see `bare_image`) and a writable layer that `start` empties, so every start hands over a host that has
never seen Docker. Its mount namespace pivots into that filesystem (with /proc, /sys, /dev, a fresh
/run and /tmp, and /var/lib/docker on the host's own directory so the engine can use overlay2); its
network namespace puts it on the sandbox bridge at 10.77.0.(40 + i), where its sshd listens. Its
/etc/hosts sends get.docker.com and download.docker.com to the sandbox's stand-in (`docker_download`)
and its CA bundle trusts the sandbox CA, so Kamal's installer pipeline works as on the internet.

Bare hosts come up only when asked (`start`), never with `sandbox up`; `stop` removes one entirely
and `sandbox down` removes any that are left. `start` first removes whatever a killed earlier run left.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.sandbox import bare_image, docker_download, layout, network
from app.sandbox.hosts import DAEMON_ENV, RESOLV_CONF
from app.sandbox.system import (
    SandboxError,
    is_mount_point,
    pids_in_namespace,
    run,
    spawn_daemon,
    tcp_open,
    terminate,
    unmount_all_under,
    wait_for,
    write_file,
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class BareHost:
    """Paths and names of bare host `index` of the sandbox rooted at `root`."""

    root: Path
    index: int

    @property
    def name(self) -> str:
        return layout.bare_host_name(self.index)

    @property
    def address(self) -> str:
        return layout.bare_host_address(self.index)

    @property
    def netns(self) -> str:
        return layout.bare_netns_name(self.index)

    @property
    def veth(self) -> str:
        return f"sdbare{self.index}"

    @property
    def dir(self) -> Path:
        return layout.bare_dir(self.root) / "hosts" / self.name

    @property
    def rootfs(self) -> Path:
        """The host's `/` as the machine sees it (the overlay's mount point)."""
        return self.dir / "rootfs"

    @property
    def mount_ns(self) -> Path:
        return self.root / "ns" / f"{self.name}.mnt"

    @property
    def uts_ns(self) -> Path:
        return self.root / "ns" / f"{self.name}.uts"

    @property
    def cgroup_parent(self) -> str:
        return f"shipdeck-{self.name}"

    @property
    def host_key(self) -> Path:
        return self.rootfs / "etc" / "ssh" / "ssh_host_ed25519_key"

    def nsenter(self) -> list[str]:
        """Prefix that runs a command inside this host (its network, mount and UTS namespaces)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", f"--mount={self.mount_ns}", f"--uts={self.uts_ns}",
                "--"]


def start(root: Path, index: int, log: Log = print) -> BareHost:
    """A freshly made bare host `index` reachable over SSH (root, `deploy`, `ops`), replacing any earlier one."""
    from app.sandbox import fleet

    if not 1 <= index <= layout.MAX_BARE_HOSTS:
        raise SandboxError(f"bare host {index}: choose between 1 and {layout.MAX_BARE_HOSTS}")
    root = fleet.check_root_dir(root)
    if not fleet.state_path(root).exists():
        raise SandboxError(f"no sandbox at {root}: run `shipdeck sandbox up` first")
    host = BareHost(root, index)
    began = time.monotonic()
    image = bare_image.ensure_bare_image(root, log)  # its own lock: a cold build does not hold up `sandbox up`
    with fleet.locked(root):
        docker_download.ensure_server(root, image, log)
        if _remove(host):
            log(f"  {host.name}: removed what an earlier run left")
        _make_filesystem(host, image, fleet.ensure_client_key(root))
        network.ensure_endpoint(host.netns, host.veth, host.address)
        _create_namespaces(host)
        _start_sshd(host)
        write_ssh_files(root)
    log(f"  {host.name}: {host.address}, no Docker, sshd ready in {time.monotonic() - began:.1f} s "
        f"(ssh -F {layout.bare_ssh_config_path(root)} root@{host.address})")
    return host


def stop(root: Path, index: int, log: Log = print) -> None:
    """Remove bare host `index`: its processes, namespaces, network and files (the image stays)."""
    from app.sandbox import fleet

    root = fleet.check_root_dir(root)
    host = BareHost(root, index)
    with fleet.locked(root):
        if _remove(host):
            log(f"  {host.name}: removed")
        write_ssh_files(root)


def remove_all(root: Path, log: Log) -> None:
    """Remove every bare host and stop the download stand-in (for `sandbox down`, which holds the lock)."""
    for index in leftover_indexes(root):
        if _remove(BareHost(root, index)):
            log(f"  {layout.bare_host_name(index)}: removed")
    if docker_download.stop_server(root):
        log("  docker download stand-in: stopped")
    layout.bare_ssh_config_path(root).unlink(missing_ok=True)


def leftover_indexes(root: Path) -> list[int]:
    """Bare hosts that exist in any form: a directory, a network namespace or a namespace file."""
    indexes: set[int] = set()
    prefix = layout.bare_host_name(0)[:-1]
    hosts_dir = layout.bare_dir(root) / "hosts"
    if hosts_dir.is_dir():
        indexes |= {int(p.name[len(prefix):]) for p in hosts_dir.iterdir() if p.name[len(prefix):].isdigit()}
    ns_prefix = layout.bare_netns_name(0)[:-1]
    for line in run(["ip", "netns", "list"]).stdout.splitlines():
        name = (line.split() or [""])[0]
        if name.startswith(ns_prefix) and name[len(ns_prefix):].isdigit():
            indexes.add(int(name[len(ns_prefix):]))
    for ns_file in glob.glob(str(root / "ns" / f"{prefix}*.mnt")):
        number = Path(ns_file).name[len(prefix):-len(".mnt")]
        if number.isdigit():
            indexes.add(int(number))
    return sorted(indexes)


# --- making one -------------------------------------------------------------------------------------------


def _make_filesystem(host: BareHost, image: Path, client_public_key: str) -> None:
    """Mount a fresh overlay of the image and write what is the host's own: keys, sshd, resolver, CA."""
    upper, work = host.dir / "upper", host.dir / "work"
    for path in (upper, work, host.rootfs, host.dir / "docker", host.dir / "log"):
        path.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={image / 'rootfs'},upperdir={upper},workdir={work}", str(host.rootfs)])
    etc = host.rootfs / "etc"
    write_file(etc / "hostname", host.name + "\n")
    write_file(etc / "resolv.conf", RESOLV_CONF)
    hosts = (etc / "hosts").read_text()
    write_file(etc / "hosts", hosts + f"127.0.1.1\t{host.name}\n")  # sudo looks its own host name up
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(host.host_key)])
    write_file(etc / "ssh" / "sshd_config", _sshd_config(host))
    # Trust the sandbox CA, as a provider's image trusts the public ones (curl and apt read this bundle).
    bundle = etc / "ssl" / "certs" / "ca-certificates.crt"
    write_file(bundle, bundle.read_text() + layout.ca_cert_path(host.root).read_text())
    # The engine that the installer starts keeps its containers' cgroups apart from the machine's.
    daemon = f'{{"cgroup-parent": "/{host.cgroup_parent}", "exec-opts": ["native.cgroupdriver=cgroupfs"]}}\n'
    write_file(etc / "docker" / "daemon.json", daemon)
    users = [("root", host.rootfs / "root")]
    users += [(user, host.rootfs / "home" / user) for user in (bare_image.NON_ROOT_USER, bare_image.SUDO_USER)]
    for user, home in users:
        uid, gid = _ids(etc / "passwd", user)
        ssh_dir = home / ".ssh"
        write_file(ssh_dir / "authorized_keys", client_public_key.strip() + "\n", 0o600)
        os.chmod(ssh_dir, 0o700)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, uid, gid)


def _ids(passwd: Path, user: str) -> tuple[int, int]:
    for line in passwd.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise SandboxError(f"no user {user} in {passwd}")


def _sshd_config(host: BareHost) -> str:
    return "\n".join([
        "# sshd of a bare sandbox host (written by shipdeck's sandbox)",
        f"ListenAddress {host.address}:22",
        "HostKey /etc/ssh/ssh_host_ed25519_key",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "X11Forwarding no",
        "PrintMotd no",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp internal-sftp",
        "",
    ])


def _create_namespaces(host: BareHost) -> None:
    """Mount and UTS namespaces whose `/` is the host's root filesystem (pivot_root, old root detached)."""
    for ns_file in (host.mount_ns, host.uts_ns):
        ns_file.touch(exist_ok=True)
    fs = host.rootfs
    setup = (f"set -e; hostname {host.name}; mount -t proc proc {fs}/proc; mount --rbind /sys {fs}/sys; "
             f"mount --rbind /dev {fs}/dev; mount -t tmpfs -o mode=755 tmpfs {fs}/run; "
             f"mount -t tmpfs -o mode=1777 tmpfs {fs}/tmp; mkdir -p {fs}/var/lib/docker; "
             f"mount --bind {host.dir / 'docker'} {fs}/var/lib/docker; "
             f"cd {fs}; pivot_root . .; umount -l .; mkdir -p /run/sshd; chmod 755 /run/sshd")
    run(["unshare", f"--mount={host.mount_ns}", f"--uts={host.uts_ns}", "--propagation", "private",
         "sh", "-c", setup])
    probe = run([*host.nsenter(), "sh", "-c", "hostname; cat /etc/hostname; test ! -e /usr/bin/docker && echo bare"],
                check=False)
    if probe.stdout != f"{host.name}\n{host.name}\nbare\n":
        raise SandboxError(f"the namespaces of {host.name} did not come up as expected: {probe.stdout!r} "
                           f"{probe.stderr.strip()}")


def _start_sshd(host: BareHost) -> None:
    log = host.dir / "log" / "sshd.log"
    run([*host.nsenter(), "/usr/sbin/sshd", "-t"])
    pid = spawn_daemon([*host.nsenter(), "/usr/sbin/sshd", "-D", "-e"], log, env=DAEMON_ENV)
    write_file(host.dir / "sshd.pid", f"{pid}\n")
    wait_for(lambda: tcp_open(host.address, 22), timeout=20, what=f"sshd of {host.name}", log_hint=log)


def write_ssh_files(root: Path) -> None:
    """SSH client config and known_hosts for the bare hosts that exist now."""
    entries, blocks = [], ["# SSH client config for the bare sandbox hosts (written by shipdeck's sandbox)"]
    known_hosts = layout.bare_dir(root) / "known_hosts"
    for index in leftover_indexes(root):
        host = BareHost(root, index)
        public = host.host_key.with_name(host.host_key.name + ".pub")
        if not public.exists():
            continue
        entries.append(f"{host.address},{host.name} {' '.join(public.read_text().split()[:2])}")
        blocks.append("\n".join([
            f"Host {host.name} {host.address}",
            f"  HostName {host.address}",
            f"  IdentityFile {layout.ssh_key_path(root)}",
            "  IdentitiesOnly yes",
            f"  UserKnownHostsFile {known_hosts}",
            "  StrictHostKeyChecking yes",
            "  ConnectTimeout 10",
        ]))
    write_file(known_hosts, "".join(line + "\n" for line in entries))
    write_file(layout.bare_ssh_config_path(root), "\n\n".join(blocks) + "\n")


# --- removing one -----------------------------------------------------------------------------------------


def _remove(host: BareHost) -> bool:
    """Stop everything of the host and delete it; True when there was anything to remove."""
    found = host.dir.exists() or host.mount_ns.exists() or (network.NETNS_DIR / host.netns).exists()
    pids = set(pids_in_namespace(host.mount_ns, "mnt"))
    pids.update(pids_in_namespace(network.NETNS_DIR / host.netns, "net"))
    pids.discard(os.getpid())
    terminate(sorted(pids), grace=5)
    for top in sorted(glob.glob(f"/sys/fs/cgroup/{host.cgroup_parent}")
                      + glob.glob(f"/sys/fs/cgroup/*/{host.cgroup_parent}")):
        for directory in sorted(glob.glob(f"{top}/**/", recursive=True), key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
    for ns_file in (host.mount_ns, host.uts_ns):
        for _ in range(10):
            if not is_mount_point(ns_file):
                break
            run(["umount", str(ns_file)], check=False)
        ns_file.unlink(missing_ok=True)
    network.remove_endpoint(host.netns, host.veth)
    unmount_all_under(host.dir)
    shutil.rmtree(host.dir, ignore_errors=True)
    return found
