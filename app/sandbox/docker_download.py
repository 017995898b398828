"""The sandbox's stand-in for get.docker.com and download.docker.com (there is no internet here).

One HTTPS server on 10.77.0.1:443, with a certificate for both names signed by the sandbox CA, which
the bare hosts trust and whose /etc/hosts send both names there. `/` is an install script that does
what Docker's does on Debian, from the packages of the bare host image instead of Docker's own: add
the apt repository https://download.docker.com/linux/debian, install Docker from it, start the
engine (a bare host has no init system to start it). `/linux/debian/` is that repository.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app.sandbox import layout
from app.sandbox.bare_image import DOCKER_PACKAGES
from app.sandbox.system import (
    SandboxError,
    pid_from_file,
    spawn_daemon,
    terminate,
    wait_for,
    write_file,
)

Log = Callable[[str], None]
SERVER_SCRIPT = Path(__file__).with_name("https_files.py")
REPOSITORY_PATH = "linux/debian"

INSTALL_SCRIPT = f"""#!/bin/sh
# Docker install script of the shipdeck sandbox, served as https://get.docker.com (no internet here).
# Like Docker's on Debian: as root, or through sudo; add the apt repository, install the engine and CLI
# from it, then start the engine, which a server without an init system (this sandbox host) does not do
# by itself.
set -e
sh_c='sh -c'
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sh_c='sudo -E sh -c'
  else
    echo "Error: this installer needs the ability to run commands as root." >&2
    exit 1
  fi
fi
echo "# Executing docker install script (shipdeck sandbox)"
$sh_c 'echo "deb [trusted=yes] https://{layout.DOCKER_DOWNLOAD_NAMES[1]}/{REPOSITORY_PATH} ./" \
  > /etc/apt/sources.list.d/docker.list'
export DEBIAN_FRONTEND=noninteractive
$sh_c 'apt-get update -qq -o Dir::Etc::sourcelist=sources.list.d/docker.list -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0'
# No init system: the packages' maintainer scripts must not try to start services.
$sh_c "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d"
$sh_c 'apt-get install -y -qq --no-install-recommends {' '.join(DOCKER_PACKAGES)} >/dev/null'
$sh_c 'rm -f /usr/sbin/policy-rc.d'
if ! $sh_c 'docker info' >/dev/null 2>&1; then
  echo "# Starting dockerd (log: /var/log/dockerd.log)"
  $sh_c 'setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &'
  tries=0
  until $sh_c 'docker info' >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
      echo "Error: dockerd did not start:" >&2
      $sh_c 'tail -n 20 /var/log/dockerd.log' >&2
      exit 1
    fi
    sleep 0.5
  done
fi
$sh_c 'docker version'
"""


def download_dir(root: Path) -> Path:
    return layout.bare_dir(root) / "download"


def document_root(root: Path) -> Path:
    return download_dir(root) / "www"


def pid_path(root: Path) -> Path:
    return download_dir(root) / "server.pid"


def cert_paths(root: Path) -> tuple[Path, Path]:
    return download_dir(root) / "server.crt", download_dir(root) / "server.key"


def ensure_certificate(root: Path) -> bool:
    """A key and certificate for Docker's download names, signed by the sandbox CA; True when (re)made."""
    from app.sandbox.system import run

    cert, key = cert_paths(root)
    ca_cert = layout.ca_cert_path(root)
    ca_key = ca_cert.with_name("ca.key")
    if not ca_key.exists():
        raise SandboxError(f"no sandbox CA at {ca_cert.parent}: run `shipdeck sandbox up` first")
    if cert.exists() and key.exists() and run(["openssl", "verify", "-CAfile", str(ca_cert), str(cert)],
                                              check=False).returncode == 0:
        return False
    cert.parent.mkdir(parents=True, exist_ok=True)
    names = ",".join(f"DNS:{name}" for name in layout.DOCKER_DOWNLOAD_NAMES)
    extensions = cert.with_suffix(".ext")
    extensions.write_text(f"subjectAltName={names}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    csr = cert.with_suffix(".csr")
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={layout.DOCKER_DOWNLOAD_NAMES[0]}"])
    os.chmod(key, 0o600)
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
         "-CAcreateserial", "-CAserial", str(cert.with_suffix(".srl")), "-out", str(cert), "-days", "3650",
         "-extfile", str(extensions)])
    return True


def write_document_root(root: Path, image: Path) -> None:
    """`index` (the install script) and `linux/debian` (the image's package repository)."""
    www = document_root(root)
    write_file(www / "index", INSTALL_SCRIPT, 0o644)
    link = www / REPOSITORY_PATH
    link.parent.mkdir(parents=True, exist_ok=True)
    target = str(image / "repo")
    if not (link.is_symlink() and os.readlink(link) == target):
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def server_pid(root: Path) -> int | None:
    return pid_from_file(pid_path(root), str(document_root(root)))


def answers(root: Path) -> bool:
    """GET https://get.docker.com/ (at the gateway) verifies with the sandbox CA and returns the script."""
    context = ssl.create_default_context(cafile=str(layout.ca_cert_path(root)))
    context.check_hostname = False  # we dial the address; the name is checked by curl on the hosts
    url = f"https://{layout.GATEWAY}:{layout.DOCKER_DOWNLOAD_PORT}/"
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as reply:
            return reply.read() == INSTALL_SCRIPT.encode()
    except OSError:
        return False


def ensure_server(root: Path, image: Path, log: Log) -> None:
    """Start the download server, or keep the one that runs if it serves what it should."""
    fresh_cert = ensure_certificate(root)
    write_document_root(root, image)
    pid = server_pid(root)
    if pid and not fresh_cert and answers(root):
        log(f"  docker download stand-in: running (pid {pid}) - reused")
        return
    stop_server(root)
    cert, key = cert_paths(root)
    argv = [sys.executable, str(SERVER_SCRIPT), layout.GATEWAY, str(layout.DOCKER_DOWNLOAD_PORT),
            str(document_root(root)), str(cert), str(key)]
    pid = spawn_daemon(argv, download_dir(root) / "server.log")
    write_file(pid_path(root), f"{pid}\n")
    wait_for(lambda: answers(root), timeout=20, what="the docker download stand-in",
             log_hint=download_dir(root) / "server.log")
    log(f"  docker download stand-in: https://{layout.GATEWAY}:{layout.DOCKER_DOWNLOAD_PORT} "
        f"as {', '.join(layout.DOCKER_DOWNLOAD_NAMES)} (pid {pid})")


def stop_server(root: Path) -> bool:
    pid = server_pid(root)
    if pid:
        terminate([pid], grace=5)
    pid_path(root).unlink(missing_ok=True)
    return pid is not None
