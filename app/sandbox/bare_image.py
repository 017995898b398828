"""The root filesystem of a bare sandbox host, and Debian's Docker packages for it, cached by recipe hash.

A bare host is a server as a provider hands it over: Debian bookworm (`debootstrap --variant=minbase`)
with openssh-server, curl and sudo, no Docker; users `root`, `deploy` (no sudo rights) and `ops`
(passwordless sudo). The same build downloads (never installs) `docker.io` and every package it needs
that the root filesystem lacks, into a flat apt repository that the sandbox's stand-in for
download.docker.com serves, so `server bootstrap` can install Docker with no internet.

Both live in `<sandbox>/bare/images/<hash>/` (`rootfs/`, `repo/`), where the hash covers the package
lists, the users, the names and the building functions' source: a changed recipe builds anew, an
unchanged one is reused. A build happens in `<hash>.new/` and is renamed when complete, so a killed
build leaves nothing that looks finished; leftovers and older builds are deleted by the next call.
"""

from __future__ import annotations

import hashlib
import inspect
import shutil
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

from app.sandbox import layout
from app.sandbox.images import SUITE, debian_mirror, debootstrap
from app.sandbox.system import SandboxError, exclusive, run

Log = Callable[[str], None]
LOCK_FILE = Path("/run/lock/shipdeck-sandbox-bare-image.lock")
ROOTFS_PACKAGES = ("openssh-server", "curl", "ca-certificates", "iproute2", "procps", "sudo")
DOCKER_PACKAGES = ("docker.io",)
NON_ROOT_USER = "deploy"  # no sudo rights: Docker cannot be installed as this user
SUDO_USER = "ops"  # passwordless sudo: Docker is installed with sudo, and the user added to the docker group
PRUNE = ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*",
         "usr/share/locale/*", "etc/ssh/ssh_host_*")


def recipe_hash() -> str:
    """Hash of everything that decides the build: package lists, user, names, the building functions."""
    recipe = "\n".join([SUITE, *ROOTFS_PACKAGES, "--", *DOCKER_PACKAGES, "--", NON_ROOT_USER, SUDO_USER, "--", *PRUNE,
                        "--", *layout.DOCKER_DOWNLOAD_NAMES, layout.GATEWAY,
                        inspect.getsource(debootstrap), inspect.getsource(_build),
                        inspect.getsource(write_repository_index)])
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def images_dir(root: Path) -> Path:
    return layout.bare_dir(root) / "images"


def ensure_bare_image(root: Path, log: Log) -> Path:
    """The directory holding `rootfs/` and `repo/` for the current recipe (built if missing)."""
    wanted = recipe_hash()
    target = images_dir(root) / wanted
    with exclusive(LOCK_FILE):
        if (target / "complete").is_file():
            log(f"  bare host image {wanted}: up to date")
            return target
        images_dir(root).mkdir(parents=True, exist_ok=True)
        mounts = Path("/proc/self/mountinfo").read_text()
        for stale in images_dir(root).iterdir():  # older recipes and killed builds, unless a host still runs on one
            if stale.name != wanted and f"{stale}/rootfs" not in mounts:
                shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        staging = images_dir(root) / f"{wanted}.new"
        began = time.monotonic()
        _build(staging, log)
        (staging / "complete").write_text(f"{wanted}\n")
        staging.rename(target)
        log(f"  bare host image {wanted}: built in {time.monotonic() - began:.0f}s")
        return target


def _build(staging: Path, log: Log) -> None:
    rootfs, repo = staging / "rootfs", staging / "repo"
    mirror = debian_mirror()
    log(f"  bare host image: debootstrap {SUITE} ({', '.join(ROOTFS_PACKAGES)}) from {mirror}")
    debootstrap(rootfs, ROOTFS_PACKAGES, mirror)
    chroot = ["chroot", str(rootfs)]
    for user in (NON_ROOT_USER, SUDO_USER):
        run([*chroot, "useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", user])
    sudoers = rootfs / "etc" / "sudoers.d" / SUDO_USER
    sudoers.write_text(f"{SUDO_USER} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    # Download Docker's packages with the root filesystem's own apt, so the set is exactly what it lacks.
    log(f"  bare host image: downloading {', '.join(DOCKER_PACKAGES)} and what they need")
    archives = rootfs / "var" / "cache" / "apt" / "archives"
    for deb in archives.glob("*.deb"):  # debootstrap's own downloads, all installed already
        deb.unlink()
    run([*chroot, "apt-get", "update", "-qq"], timeout=600)
    run([*chroot, "apt-get", "install", "--download-only", "--no-install-recommends", "-y", "-qq",
         *DOCKER_PACKAGES], timeout=900)
    repo.mkdir(parents=True)
    for deb in sorted(archives.glob("*.deb")):
        shutil.move(str(deb), repo / deb.name)
    if not any(repo.glob("docker.io_*.deb")):
        raise SandboxError("apt downloaded no docker.io package for the bare host image")
    write_repository_index(repo)
    for pattern in PRUNE:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    hosts = "".join(f"{layout.GATEWAY}\t{name}\n" for name in layout.DOCKER_DOWNLOAD_NAMES)
    with open(rootfs / "etc" / "hosts", "a") as handle:
        handle.write(hosts)


def write_repository_index(repo: Path) -> None:
    """`Packages` and `Release` of a flat apt repository (`deb [trusted=yes] URL ./`) holding the .debs."""
    stanzas = []
    for deb in sorted(repo.glob("*.deb")):
        control = run(["dpkg-deb", "--field", str(deb)]).stdout.rstrip("\n")
        data = deb.read_bytes()
        stanzas.append("\n".join([control, f"Filename: ./{deb.name}", f"Size: {len(data)}",
                                  f"SHA256: {hashlib.sha256(data).hexdigest()}"]))
    packages = ("\n\n".join(stanzas) + "\n").encode()
    (repo / "Packages").write_bytes(packages)
    architecture = run(["dpkg", "--print-architecture"]).stdout.strip()
    release = ["Origin: shipdeck sandbox", "Label: docker", f"Suite: {SUITE}", f"Date: {formatdate(usegmt=True)}",
               f"Architectures: {architecture} all",
               "SHA256:", f" {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages"]
    (repo / "Release").write_text("\n".join(release) + "\n")
