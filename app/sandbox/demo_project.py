"""Writes the demo Kamal 2 project that the sandbox deploys: a git repository with one commit.

Layout of the fleet it expects: `web` on the first two hosts, `job` (`bin/jobs`) on the third (or
the last) host, the `db` (postgres:15) and `redis` (redis:7) accessories on the last host.

Containers on the accessories' host reach them by name over that host's `kamal` network
(`demo-db`, `demo-redis`). Web containers on other hosts cannot resolve those names, so the web
role points at the accessories' host address instead, and the accessories publish their ports on
that private address only (never on every interface).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from app.errors import ShipdeckError

DEMO_APP_DIR = Path(__file__).with_name("demoapp")
MARKER = ".shipdeck-demo"
SERVICE = "demo"
IMAGE = "demo/app"
APP_FILES = ("Dockerfile", "bin/web", "bin/jobs", "demo/__init__.py", "demo/settings.py", "demo/railslog.py",
             "demo/jobqueue.py", "demo/web.py", "demo/jobs.py")
EXECUTABLES = {"bin/web", "bin/jobs"}

SECRETS = """\
# Read from the environment of whoever runs the deploy; nothing secret is stored in this repository.
KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD
POSTGRES_PASSWORD=$POSTGRES_PASSWORD
"""

GITIGNORE = """\
.kamal/secrets-common.local
*.pyc
__pycache__/
"""

README = """\
# demo

A small app that behaves toward a deploy like a Rails 8 app: `web` serves `/up` and `/` (Postgres +
Redis), `job` runs `bin/jobs`. Deploy it with `kamal deploy` or `shipdeck deploy`; the secrets come
from the environment (`KAMAL_REGISTRY_PASSWORD`, `POSTGRES_PASSWORD`).

Set `FAIL_HEALTHCHECK: "1"` in `env.clear` (or build with `--build-arg FAIL_HEALTHCHECK=1`) to get a
version whose `/up` never turns healthy.
"""


def roles(hosts: list[str]) -> tuple[list[str], list[str], str]:
    """(web hosts, job hosts, accessory host) for a fleet."""
    if not hosts:
        raise ShipdeckError("the demo project needs at least one host")
    web = hosts[:2]
    job = [hosts[2]] if len(hosts) >= 3 else [hosts[-1]]
    return web, job, hosts[-1]


def deploy_config(*, hosts: list[str], registry: str, registry_username: str, ssh_config: Path) -> dict:
    web_hosts, job_hosts, accessory_host = roles(hosts)
    web_role: dict = {"hosts": web_hosts}
    if any(host != accessory_host for host in web_hosts):
        web_role["env"] = {"clear": {"DB_HOST": accessory_host,
                                     "REDIS_URL": f"redis://{accessory_host}:6379/0"}}
    return {
        "service": SERVICE,
        "image": IMAGE,
        "servers": {
            "web": web_role,
            "job": {"hosts": job_hosts, "cmd": "bin/jobs"},
        },
        "proxy": {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1}},
        "registry": {"server": registry, "username": registry_username, "password": ["KAMAL_REGISTRY_PASSWORD"]},
        "builder": {"arch": "amd64"},
        "ssh": {"user": "root", "config": str(ssh_config)},
        "env": {
            "clear": {"DB_HOST": f"{SERVICE}-db", "REDIS_URL": f"redis://{SERVICE}-redis:6379/0"},
            "secret": ["POSTGRES_PASSWORD"],
        },
        "accessories": {
            "db": {
                "image": "postgres:15",
                "host": accessory_host,
                # Published on the host's private address only, for the web hosts.
                "port": f"{accessory_host}:5432:5432",
                "env": {"secret": ["POSTGRES_PASSWORD"]},
                "directories": ["data:/var/lib/postgresql/data"],
            },
            "redis": {
                "image": "redis:7",
                "host": accessory_host,
                "port": f"{accessory_host}:6379:6379",
                "directories": ["data:/data"],
            },
        },
    }


def write_demo_project(dest: Path, *, hosts: list[str], registry: str, registry_username: str,
                       ssh_config: Path) -> Path:
    """Write a ready-to-deploy Kamal project (a git repo with a commit) into `dest` and return it.

    An existing demo project at `dest` is rewritten in place (and committed if anything changed);
    any other non-empty directory is refused rather than overwritten.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not (dest / MARKER).exists():
        raise ShipdeckError(f"{dest} exists and is not a shipdeck demo project; not overwriting it")
    config = deploy_config(hosts=hosts, registry=registry, registry_username=registry_username,
                           ssh_config=ssh_config)
    dest.mkdir(parents=True, exist_ok=True)
    for relative in APP_FILES:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_APP_DIR / relative, target)
        target.chmod(0o755 if relative in EXECUTABLES else 0o644)
    (dest / "config").mkdir(exist_ok=True)
    header = "# Kamal 2 configuration of the shipdeck sandbox's demo app (written by shipdeck).\n"
    (dest / "config" / "deploy.yml").write_text(header + yaml.safe_dump(config, sort_keys=False))
    (dest / ".kamal").mkdir(exist_ok=True)
    (dest / ".kamal" / "secrets").write_text(SECRETS)
    (dest / ".gitignore").write_text(GITIGNORE)
    (dest / "README.md").write_text(README)
    (dest / MARKER).write_text("This directory was written by shipdeck's write_demo_project.\n")
    _commit(dest)
    return dest


def _git(dest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", "-C", str(dest), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ShipdeckError(f"git {args[0]} in {dest} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _commit(dest: Path) -> None:
    if not (dest / ".git").exists():
        _git(dest, "init", "-q", "-b", "main")
    _git(dest, "config", "user.name", "shipdeck demo")
    _git(dest, "config", "user.email", "demo@shipdeck.invalid")
    _git(dest, "add", "-A")
    if _git(dest, "status", "--porcelain").stdout.strip():
        first = subprocess.run(["git", "-C", str(dest), "rev-parse", "--verify", "-q", "HEAD"],
                               capture_output=True, check=False).returncode != 0
        _git(dest, "commit", "-q", "-m", "Demo app" if first else "Update the demo app")
