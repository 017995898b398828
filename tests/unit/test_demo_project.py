"""The demo Kamal project: files, deploy.yml layout, git commit, refusal to overwrite, and real Kamal's
verdict on it (`kamal config`)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from app.errors import ShipdeckError
from app.sandbox.demo_project import write_demo_project

HOSTS = ["10.77.0.11", "10.77.0.12", "10.77.0.13"]


def make(tmp_path: Path, hosts: list[str] = HOSTS, name: str = "demo") -> Path:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host *\n  StrictHostKeyChecking yes\n")
    return write_demo_project(tmp_path / name, hosts=hosts, registry="10.77.0.1:5000",
                              registry_username="shipdeck", ssh_config=ssh_config)


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, check=True).stdout


def test_project_layout_and_config(tmp_path: Path) -> None:
    project = make(tmp_path)
    config = yaml.safe_load((project / "config" / "deploy.yml").read_text())
    assert config["service"] == "demo" and config["image"] == "demo/app"
    assert config["servers"]["web"]["hosts"] == HOSTS[:2]
    assert config["servers"]["job"] == {"hosts": [HOSTS[2]], "cmd": "bin/jobs"}
    assert config["proxy"] == {"app_port": 80, "healthcheck": {"path": "/up", "interval": 1}}
    assert config["registry"] == {"server": "10.77.0.1:5000", "username": "shipdeck",
                                  "password": ["KAMAL_REGISTRY_PASSWORD"]}
    assert config["builder"] == {"arch": "amd64"}
    assert config["ssh"] == {"user": "root", "config": str(tmp_path / "ssh_config")}
    assert config["env"]["clear"] == {"DB_HOST": "demo-db", "REDIS_URL": "redis://demo-redis:6379/0"}
    assert config["env"]["secret"] == ["POSTGRES_PASSWORD"]
    db, redis = config["accessories"]["db"], config["accessories"]["redis"]
    assert (db["image"], db["host"], db["directories"]) == ("postgres:15", HOSTS[2], ["data:/var/lib/postgresql/data"])
    assert db["env"] == {"secret": ["POSTGRES_PASSWORD"]}
    assert db["port"] == f"{HOSTS[2]}:5432:5432"  # the private address only, never 0.0.0.0
    assert (redis["image"], redis["host"], redis["directories"]) == ("redis:7", HOSTS[2], ["data:/data"])
    # Web containers on the other hosts reach the accessories through their host's address.
    assert config["servers"]["web"]["env"]["clear"]["DB_HOST"] == HOSTS[2]
    secrets = (project / ".kamal" / "secrets").read_text()
    assert "KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD" in secrets
    assert "POSTGRES_PASSWORD=$POSTGRES_PASSWORD" in secrets
    dockerfile = (project / "Dockerfile").read_text()
    assert dockerfile.splitlines()[1] == "FROM shipdeck/demo-base:1" and "EXPOSE 80" in dockerfile
    for script in ("bin/jobs", "bin/web"):
        assert (project / script).stat().st_mode & stat.S_IXUSR


def test_it_is_a_committed_git_repository(tmp_path: Path) -> None:
    project = make(tmp_path)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "--format=%an <%ae>").strip() == "shipdeck demo <demo@shipdeck.invalid>"
    assert "config/deploy.yml" in git(project, "ls-files")
    first = git(project, "rev-parse", "HEAD")
    assert make(tmp_path) == project and git(project, "rev-parse", "HEAD") == first  # nothing changed
    make(tmp_path, hosts=HOSTS[:1])
    assert git(project, "rev-parse", "HEAD") != first
    assert git(project, "rev-list", "--count", "HEAD").strip() == "2"


def test_small_fleets_put_every_role_somewhere(tmp_path: Path) -> None:
    config = yaml.safe_load((make(tmp_path, hosts=["10.77.0.11"]) / "config" / "deploy.yml").read_text())
    assert config["servers"]["web"] == {"hosts": ["10.77.0.11"]}  # same host as the accessories: names work
    assert config["servers"]["job"]["hosts"] == ["10.77.0.11"]
    with pytest.raises(ShipdeckError, match="at least one host"):
        make(tmp_path, hosts=[], name="none")


def test_refuses_to_overwrite_an_unrelated_directory(tmp_path: Path) -> None:
    precious = tmp_path / "demo"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ShipdeckError, match="is not a shipdeck demo project"):
        make(tmp_path)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert not (precious / "config").exists()


@pytest.mark.kamal
def test_real_kamal_accepts_the_configuration(tmp_path: Path) -> None:
    project = make(tmp_path)
    env = dict(os.environ, KAMAL_REGISTRY_PASSWORD="registry-secret", POSTGRES_PASSWORD="db-secret")
    result = subprocess.run(["kamal", "config"], cwd=project, capture_output=True, text=True, env=env, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout.split("---", 1)[1] if result.stdout.startswith("---") else result.stdout)
    assert sorted(printed[":roles"]) == ["job", "web"]
    assert printed[":primary_host"] == HOSTS[0]
    assert printed[":repository"] == "10.77.0.1:5000/demo/app"
    assert printed[":version"] == git(project, "rev-parse", "HEAD").strip()
    assert "registry-secret" not in result.stdout and "db-secret" not in result.stdout
