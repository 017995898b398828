"""Helpers for the deploy-flow sandbox tests: a uniquely named copy of the demo project, running kamal
and shipdeck in it, requests through each host's kamal-proxy, and cleaning up what a test deployed.

Every project gets its own service name (`demo<6 hex>`), image and proxy host (`<service>.test`) so
tests can share the sandbox with others; accessories publish no host ports.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.fleet import Sandbox


@dataclass(frozen=True)
class Project:
    path: Path
    service: str
    sandbox: Sandbox

    @property
    def proxy_host(self) -> str:
        return f"{self.service}.test"

    @property
    def config(self) -> dict:
        return yaml.safe_load((self.path / "config" / "deploy.yml").read_text())

    def web_hosts(self) -> list[str]:
        return list(self.config["servers"]["web"]["hosts"])

    def version(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def commit(self, message: str, *, env: dict[str, str] | None = None) -> str:
        """A new version: a changed file (and optionally clear env), committed."""
        config = self.config
        if env:
            config.setdefault("env", {}).setdefault("clear", {}).update(env)
            (self.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        (self.path / "VERSION_NOTE").write_text(message + "\n")
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        return self.version()


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout.strip()


def make_project(sandbox: Sandbox, demo: Path, *, accessories: bool = False, job: bool = True,
                 extra: dict | None = None) -> Project:
    service = "demo" + os.urandom(3).hex()
    config = yaml.safe_load((demo / "config" / "deploy.yml").read_text())
    config["service"] = service
    config["image"] = f"{service}/app"
    config["proxy"]["host"] = f"{service}.test"
    if not job:
        config["servers"].pop("job", None)
    if accessories:
        for accessory in config["accessories"].values():
            accessory.pop("port", None)  # no fixed host ports on the shared sandbox
    else:
        config.pop("accessories", None)
    config.update(extra or {})
    (demo / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(demo, "add", "-A")
    git(demo, "commit", "-q", "-m", f"Deploy as {service}")
    return Project(demo, service, sandbox)


def kamal(project: Project, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kamal", *args], cwd=project.path, env=project.sandbox.env(), capture_output=True,
                            text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, f"kamal {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    return result


def shipdeck_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def shipdeck(project: Project, *args: str, check: bool = True,
             timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(shipdeck_argv(*args), cwd=project.path, env=project.sandbox.env(), capture_output=True,
                            text=True, timeout=timeout, check=False)
    if check:
        assert result.returncode == 0, f"shipdeck {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    return result


def get(address: str, host_header: str, path: str = "/version", timeout: float = 5) -> tuple[int, str]:
    connection = http.client.HTTPConnection(address, 80, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host_header})
        reply = connection.getresponse()
        return reply.status, reply.read().decode(errors="replace")
    finally:
        connection.close()


def containers(project: Project, host: str) -> dict[str, str]:
    """name -> status of the service's containers on a host."""
    out = project.sandbox.run(host, f"docker ps -a --filter label=service={project.service} "
                                    "--format '{{.Names}} {{.State}}'").stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


def lock_exists(project: Project) -> bool:
    primary = project.web_hosts()[0]
    return project.sandbox.run(primary, f"test -d .kamal/lock-{project.service}", check=False).returncode == 0


@contextlib.contextmanager
def pushed_and_deployed(project: Project, *command: str) -> Iterator[Project]:
    """Kamal builds and pushes the app's image, shipdeck deploys it (`deploy -P` unless another command is
    given, e.g. `setup -P` to boot the accessories too); afterwards the service leaves every host."""
    try:
        kamal(project, "build", "push")
        shipdeck(project, *(command or ("deploy", "-P")))
        yield project
    finally:
        cleanup(project)


def cleanup(project: Project) -> None:
    """Remove everything of this service from every host (never the shared kamal-proxy container)."""
    service = project.service
    script = (
        f"docker exec kamal-proxy kamal-proxy remove {service}-web >/dev/null 2>&1; "
        f"ids=$(docker ps -aq --filter label=service={service}; docker ps -aq --filter label=service={service}-db; "
        f"docker ps -aq --filter label=service={service}-redis); "
        f"[ -n \"$ids\" ] && docker rm -f $ids >/dev/null; "
        f"docker image ls --filter label=service={service} -q | sort -u | xargs -r docker rmi -f >/dev/null 2>&1; "
        f"rm -rf .kamal/apps/{service} .kamal/proxy/apps-config/{service} .kamal/{service}-audit.log "
        f".kamal/lock-{service} {service}-db {service}-redis; true"
    )
    for host in project.sandbox.hosts:
        project.sandbox.run(host, script, check=False)
