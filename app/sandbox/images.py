"""Builds the sandbox's Docker images from Debian packages into this machine's own engine.

Nothing can be pulled from the internet here, so every image starts from one Debian bookworm root
filesystem made with `debootstrap --variant=minbase` (all the packages any image needs, so the base
layer is shared and pushed once), imported with `docker import`. Each image is then a small
Dockerfile under `images/<name>/` built with the classic builder.

Builds are cached: the base carries a hash of its package list and preparation steps, each image a
hash of its build context plus the base's hash, both in an image label. A second call with nothing
changed only inspects the images.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.errors import ShipdeckError
from app.sandbox.system import exclusive

IMAGES_DIR = Path(__file__).with_name("images")
HASH_LABEL = "io.shipdeck.sandbox.hash"
BASE_IMAGE = "shipdeck/sandbox-base:bookworm"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LOCK_FILE = Path("/run/lock/shipdeck-sandbox-images.lock")

# Everything any sandbox image needs; one base keeps the hosts' pulls and the mirror's pushes small.
BASE_PACKAGES = (
    "postgresql-15",
    "redis-server",
    "python3",
    "python3-psycopg2",
    "python3-redis",
    "curl",
    "ca-certificates",
    "procps",
    "docker-registry",
)

# Removed from the root filesystem before import: download caches, docs, translations, and the
# LLVM JIT (a 130 MB optional plugin of postgres; without it `jit` is simply unavailable).
BASE_PRUNE = (
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/i18n/*",
    "usr/lib/x86_64-linux-gnu/libLLVM-*",
    "usr/lib/x86_64-linux-gnu/libz3.so*",
    "usr/lib/postgresql/15/lib/llvmjit*",
    "usr/lib/postgresql/15/lib/bitcode",
    # The cluster Debian's postinst creates; the postgres image initializes its own PGDATA.
    "var/lib/postgresql/15",
    "etc/postgresql/15",
    "var/log/*.log",
    "var/log/apt/*",
)
BASE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["bash"]',
)
BASE_RECIPE_VERSION = "1"  # bump when the steps below change in a way the lists above do not show


@dataclass(frozen=True)
class ImageSpec:
    context: str  # directory under images/
    tags: tuple[str, ...]  # Hub-style names; the first is the primary one


IMAGE_SPECS = (
    ImageSpec("postgres", ("postgres:15",)),
    ImageSpec("redis", ("redis:7",)),
    # The same stand-in under an old tag too, to exercise Kamal's "proxy too old" check.
    ImageSpec("kamal-proxy", ("basecamp/kamal-proxy:v0.9.2", "basecamp/kamal-proxy:v0.8.4")),
    ImageSpec("demo-base", ("shipdeck/demo-base:1",)),
    # A stand-in for registry:3 (Kamal's local registry image): Debian's docker-registry 2.8.
    ImageSpec("registry", ("registry:3",)),
)


def image_names() -> list[str]:
    """Every Hub-style name `build_images` produces (not the internal base)."""
    return [tag for spec in IMAGE_SPECS for tag in spec.tags]


def build_images(log: Callable[[str], None] = print) -> list[str]:
    """Build every sandbox image (cached) into this machine's engine and return their Hub-style names."""
    _check_engine()
    with exclusive(LOCK_FILE):
        base_hash = base_recipe_hash()
        if _label(BASE_IMAGE) == base_hash:
            log(f"{BASE_IMAGE}: up to date")
        else:
            _build_base(base_hash, log)
        for spec in IMAGE_SPECS:
            wanted = context_hash(IMAGES_DIR / spec.context, base_hash)
            if all(_label(tag) == wanted for tag in spec.tags):
                log(f"{', '.join(spec.tags)}: up to date")
                continue
            _build_context(spec, wanted, log)
    return image_names()


# --- hashes -----------------------------------------------------------------------------------------


def base_recipe_hash() -> str:
    recipe = "\n".join([BASE_RECIPE_VERSION, SUITE, *BASE_PACKAGES, "--", *BASE_PRUNE, "--", *BASE_CHANGES])
    return hashlib.sha256(recipe.encode()).hexdigest()


def context_hash(directory: Path, base_hash: str) -> str:
    """Hash of every file (path, executable bit, bytes) in a build context, chained to the base's hash."""
    digest = hashlib.sha256(base_hash.encode())
    for path in sorted(_context_files(directory)):
        relative = path.relative_to(directory).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"\0{relative}\0{int(executable)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _context_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        raise ShipdeckError(f"image build context missing: {directory}")
    for path in directory.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


# --- docker -----------------------------------------------------------------------------------------


def _docker(*args: str, stdin: int | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    return subprocess.run(["docker", *args], stdin=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def _check_engine() -> None:
    if shutil.which("docker") is None:
        raise ShipdeckError("the docker client is not installed (apt-get install docker.io)")
    result = _docker("version", "--format", "{{.Server.Version}}", timeout=30)
    if result.returncode != 0:
        raise ShipdeckError(f"this machine's Docker engine is not reachable: {_last_line(result.stderr)}")


def _label(image: str) -> str | None:
    result = _docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{HASH_LABEL}"}}}}', image,
                     timeout=30)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# --- the base ---------------------------------------------------------------------------------------


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's own apt sources name (deb822 or one-line format)."""
    override = os.environ.get("SHIPDECK_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[Path] = sorted((sources_dir / "sources.list.d").glob("*.sources"))
    candidates += [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*.list"))]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        mirror = _mirror_in(text, deb822=path.suffix == ".sources")
        if mirror:
            return mirror
    return DEFAULT_MIRROR


def _mirror_in(text: str, *, deb822: bool) -> str | None:
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, flags=re.M))
            suites = fields.get("Suites", "").split()
            if fields.get("Types", "deb").split()[:1] == ["deb"] and SUITE in suites:
                uris = fields.get("URIs", "").split()
                if uris:
                    return uris[0].rstrip("/")
        return None
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
            return words[1].rstrip("/")
    return None


def debootstrap(rootfs: Path, packages: Sequence[str], mirror: str) -> None:
    """A minimal Debian SUITE with `packages` into `rootfs`; a failure ends with the tail of debootstrap's log."""
    if shutil.which("debootstrap") is None:
        raise ShipdeckError("debootstrap is not installed (apt-get install debootstrap)")
    command = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE, str(rootfs), mirror]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1200)
    if result.returncode != 0:
        detail = _tail(rootfs / "debootstrap" / "debootstrap.log") or _last_line(result.stdout + result.stderr)
        raise ShipdeckError(f"debootstrap {SUITE} from {mirror} failed:\n{detail}")


def _build_base(base_hash: str, log: Callable[[str], None]) -> None:
    mirror = debian_mirror()
    workdir = Path(tempfile.mkdtemp(prefix="shipdeck-rootfs-", dir="/var/tmp"))
    rootfs = workdir / "rootfs"
    try:
        log(f"{BASE_IMAGE}: debootstrap {SUITE} from {mirror} (about a minute)")
        began = time.monotonic()
        debootstrap(rootfs, BASE_PACKAGES, mirror)
        _prune(rootfs)
        log(f"{BASE_IMAGE}: root filesystem ready in {time.monotonic() - began:.0f}s, importing")
        changes = [arg for change in (*BASE_CHANGES, f"LABEL {HASH_LABEL}={base_hash}") for arg in ("--change", change)]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        imported = _docker("import", *changes, "-", BASE_IMAGE, stdin=tar.stdout.fileno())
        tar.stdout.close()
        tar.wait()
        if tar.returncode != 0 or imported.returncode != 0:
            raise ShipdeckError(f"docker import of {BASE_IMAGE} failed: {_last_line(imported.stderr)}")
        log(f"{BASE_IMAGE}: imported ({time.monotonic() - began:.0f}s in all)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _prune(rootfs: Path) -> None:
    for pattern in BASE_PRUNE:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


# --- the images -------------------------------------------------------------------------------------


def _build_context(spec: ImageSpec, wanted: str, log: Callable[[str], None]) -> None:
    began = time.monotonic()
    tags = [arg for tag in spec.tags for arg in ("--tag", tag)]
    result = _docker("build", "--label", f"{HASH_LABEL}={wanted}", "--build-arg", f"BASE={BASE_IMAGE}",
                     *tags, str(IMAGES_DIR / spec.context))
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ShipdeckError(f"docker build of {spec.tags[0]} failed:\n{tail}")
    log(f"{', '.join(spec.tags)}: built in {time.monotonic() - began:.1f}s")
