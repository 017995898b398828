"""The sandbox's registries (Debian's docker-registry, distribution 2.8) and their credentials.

- private     10.77.0.1:5000  TLS (sandbox CA) + `docker login`: the registry of the demo project
- self-hosted 10.77.0.1:5050  plain HTTP + login, like a self-hosted GitLab registry; engines that do
                              not list it as insecure fail with "server gave HTTP response to HTTPS client"
- mirror      127.0.0.1:5001  plain HTTP, no login: Docker Hub names (`library/postgres:15` ...) pushed
                              by the machine's engine (loopback registries count as insecure by default)
- mirror-ro   10.77.0.1:5001  the same storage, read-only: the hosts' engines use it as --registry-mirror
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.sandbox import layout
from app.sandbox.system import (
    SandboxError,
    pid_from_file,
    pids_with_cmdline,
    run,
    spawn_daemon,
    tcp_open,
    terminate,
    wait_for,
    write_file,
)

Log = Callable[[str], None]
MACHINE_CERTS_DIR = Path("/etc/docker/certs.d") / layout.PRIVATE_REGISTRY


@dataclass(frozen=True)
class Registry:
    name: str
    host: str
    port: int
    tls: bool
    auth: bool
    storage: str
    read_only: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


REGISTRIES = (
    Registry("private", layout.GATEWAY, layout.PRIVATE_REGISTRY_PORT, tls=True, auth=True, storage="private"),
    Registry("self-hosted", layout.GATEWAY, layout.SELF_HOSTED_REGISTRY_PORT, tls=False, auth=True,
             storage="self-hosted"),
    Registry("mirror", "127.0.0.1", layout.MIRROR_REGISTRY_PORT, tls=False, auth=False, storage="mirror"),
    Registry("mirror-ro", layout.GATEWAY, layout.MIRROR_REGISTRY_PORT, tls=False, auth=False,
             storage="mirror", read_only=True),
)


def registry_dir(root: Path) -> Path:
    return root / "registries"


def config_path(root: Path, registry: Registry) -> Path:
    return registry_dir(root) / f"{registry.name}.yml"


def pid_path(root: Path, registry: Registry) -> Path:
    return registry_dir(root) / f"{registry.name}.pid"


def password_path(root: Path) -> Path:
    return root / "secrets" / "registry-password"


def postgres_password_path(root: Path) -> Path:
    """The demo project's POSTGRES_PASSWORD (its .kamal/secrets reads it from the environment)."""
    return root / "secrets" / "postgres-password"


# --- credentials and TLS ------------------------------------------------------------------------------------


def _ensure_secret(path: Path) -> str:
    if path.exists() and path.read_text().strip():
        os.chmod(path, 0o600)
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = secrets.token_urlsafe(18)
    write_file(path, value + "\n", 0o600)
    return value


def ensure_credentials(root: Path) -> dict[str, str]:
    """Generate (once) the registry password and the demo's Postgres password; write the JSON summary."""
    password = _ensure_secret(password_path(root))
    _ensure_secret(postgres_password_path(root))
    htpasswd = registry_dir(root) / "htpasswd"
    registry_dir(root).mkdir(parents=True, exist_ok=True)
    if not htpasswd.exists() or run(["htpasswd", "-i", "-v", str(htpasswd), layout.REGISTRY_USERNAME],
                                    input=password, check=False).returncode != 0:
        run(["htpasswd", "-B", "-i", "-c", str(htpasswd), layout.REGISTRY_USERNAME], input=password)
        os.chmod(htpasswd, 0o640)
    summary = {
        "username": layout.REGISTRY_USERNAME,
        "password": password,
        "registries": {"private": layout.PRIVATE_REGISTRY, "self_hosted": layout.SELF_HOSTED_REGISTRY,
                       "mirror": layout.MIRROR_REGISTRY, "mirror_local": layout.MIRROR_REGISTRY_LOCAL},
    }
    write_file(layout.credentials_path(root), json.dumps(summary, indent=2) + "\n", 0o600)
    return {"username": layout.REGISTRY_USERNAME, "password": password}


def ensure_tls(root: Path) -> bool:
    """A sandbox CA and a certificate for 10.77.0.1 signed by it; True when they were created."""
    ca_dir = layout.ca_cert_path(root).parent
    ca_cert, ca_key = ca_dir / "ca.crt", ca_dir / "ca.key"
    cert, key = ca_dir / "registry.crt", ca_dir / "registry.key"
    if ca_cert.exists() and cert.exists() and key.exists():
        return False
    ca_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(ca_dir, 0o700)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(["openssl", "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "3650",
         "-subj", "/CN=shipdeck sandbox CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    csr = ca_dir / "registry.csr"
    run(["openssl", "req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={layout.GATEWAY}"])
    extensions = ca_dir / "registry.ext"
    extensions.write_text(f"subjectAltName=IP:{layout.GATEWAY}\nextendedKeyUsage=serverAuth\n"
                          "basicConstraints=CA:FALSE\n")
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "3650", "-extfile", str(extensions)])
    for private in (ca_key, key):
        os.chmod(private, 0o600)
    return True


def install_machine_ca(root: Path) -> bool:
    """Make every engine on the machine (they all read /etc/docker/certs.d) trust the private registry."""
    return write_file(MACHINE_CERTS_DIR / "ca.crt", layout.ca_cert_path(root).read_text(), 0o644)


def remove_machine_ca(root: Path) -> bool:
    installed = MACHINE_CERTS_DIR / "ca.crt"
    ours = layout.ca_cert_path(root)
    if installed.exists() and (not ours.exists() or installed.read_text() == ours.read_text()):
        shutil.rmtree(MACHINE_CERTS_DIR, ignore_errors=True)
        return True
    return False


# --- processes ----------------------------------------------------------------------------------------------


def config_text(root: Path, registry: Registry) -> str:
    storage = registry_dir(root) / "data" / registry.storage
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {storage}",
        "  delete:",
        "    enabled: true",
    ]
    if registry.read_only:
        lines += ["  maintenance:", "    readonly:", "      enabled: true"]
    lines += ["http:", f"  addr: {registry.address}", f"  secret: {secrets.token_hex(16)}"]
    if registry.tls:
        ca_dir = layout.ca_cert_path(root).parent
        lines += ["  tls:", f"    certificate: {ca_dir / 'registry.crt'}",
                  f"    key: {ca_dir / 'registry.key'}"]
    if registry.auth:
        lines += ["auth:", "  htpasswd:", "    realm: shipdeck-sandbox",
                  f"    path: {registry_dir(root) / 'htpasswd'}"]
    return "\n".join(lines) + "\n"


def registry_pid(root: Path, registry: Registry) -> int | None:
    return pid_from_file(pid_path(root, registry), str(config_path(root, registry)))


def answers(root: Path, registry: Registry, timeout: float = 2.0) -> bool:
    """GET /v2/ answers 200 (no auth) or 401 (auth required) - the registry API is there."""
    scheme = "https" if registry.tls else "http"
    context = None
    if registry.tls:
        context = ssl.create_default_context(cafile=str(layout.ca_cert_path(root)))
    try:
        url = f"{scheme}://{registry.address}/v2/"
        with urllib.request.urlopen(url, timeout=timeout, context=context) as reply:
            return reply.status == 200
    except urllib.error.HTTPError as error:
        return error.code == 401 and registry.auth
    except (OSError, ssl.SSLError):
        return False


def healthy(root: Path, registry: Registry) -> bool:
    return registry_pid(root, registry) is not None and answers(root, registry)


def ensure_registry(root: Path, registry: Registry, log: Log) -> None:
    path = config_path(root, registry)
    if path.exists() and healthy(root, registry):
        log(f"  registry {registry.name} on {registry.address}: running - reused")
        return
    stop_registry(root, registry)
    if tcp_open(registry.host, registry.port):
        raise SandboxError(f"port {registry.address} is taken by another program; stop it (e.g. Debian's "
                           "docker-registry service) and run `shipdeck sandbox up` again")
    (registry_dir(root) / "data" / registry.storage).mkdir(parents=True, exist_ok=True)
    write_file(path, config_text(root, registry), 0o600)
    pid = spawn_daemon(["docker-registry", "serve", str(path)], registry_dir(root) / f"{registry.name}.log")
    pid_path(root, registry).write_text(f"{pid}\n")
    wait_for(lambda: answers(root, registry), timeout=20, what=f"registry {registry.name}",
             log_hint=registry_dir(root) / f"{registry.name}.log")
    log(f"  registry {registry.name} on {registry.address}: started (pid {pid})")


def stop_registry(root: Path, registry: Registry) -> bool:
    # by config path too: an `up` interrupted right after the start had no time to write the pid file
    pids = set(pids_with_cmdline(f"serve {config_path(root, registry)}"))
    pid = registry_pid(root, registry)
    if pid:
        pids.add(pid)
    terminate(sorted(pids), grace=5)
    pid_path(root, registry).unlink(missing_ok=True)
    return bool(pids)


def ensure_registries(root: Path, log: Log) -> dict[str, str]:
    credentials = ensure_credentials(root)
    if ensure_tls(root):
        log(f"  sandbox CA: {layout.ca_cert_path(root)} (created)")
    if install_machine_ca(root):
        log(f"  trusted by the engines on this machine: {MACHINE_CERTS_DIR / 'ca.crt'}")
    for registry in REGISTRIES:
        ensure_registry(root, registry, log)
    return credentials
