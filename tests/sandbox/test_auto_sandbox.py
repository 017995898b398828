"""`shipdeck --auto` on the sandbox: each exit code provoked by a real run, reports and masking checked."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, cleanup, containers, get, git, lock_exists
from tests.sandbox.ops_support import last_host, project_on_last_host, shipdeck_in

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

PASSWORD = 'p$a"ss! \\w #rd'  # what GitLab hands over for a variable written p$$a"ss! \w #rd
ROOT = Path(__file__).resolve().parents[2]
HERE = {"PYTHONPATH": str(ROOT)}  # this checkout's shipdeck, whatever is installed
CI_ENV = {**HERE, "GITLAB_CI": "true", "CI_JOB_ID": "1", "CI_PROJECT_DIR": "/builds/demo", "CI_DB_PASSWORD": PASSWORD,
          "NO_COLOR": "1"}
FROM_ENV = "--secrets-from-env=POSTGRES_PASSWORD=CI_DB_PASSWORD"


def auto_project(sandbox: Sandbox, directory: Path) -> Project:
    """The demo on the last host with its db and redis accessories (no host ports), web reaching them by name."""
    demo = yaml.safe_load((sandbox.copy_demo(directory / "probe") / "config" / "deploy.yml").read_text())
    accessories = {name: {key: value for key, value in spec.items() if key != "port"}
                   for name, spec in demo["accessories"].items()}
    project = project_on_last_host(sandbox, directory / "demo", accessories=accessories)
    config = project.config
    config["env"]["clear"] = {"DB_HOST": f"{project.service}-db",
                              "REDIS_URL": f"redis://{project.service}-redis:6379/0"}
    (project.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(project.path, "commit", "-qam", "accessories by name")
    return project


def auto(project: Project, *args: str, env: dict[str, str] | None = None):
    return shipdeck_in(project, "--auto", *args, env={**CI_ENV, **(env or {})}, check=False)


def serves_from_database(host: str, project: Project, timeout: float = 30) -> tuple[int, str]:
    """GET / through the host's proxy (it counts a visit in Postgres) until it answers 200, or the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(host, project.proxy_host, "/")
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(1)


def output(result) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def project(sandbox: Sandbox, tmp_path: Path):
    made = auto_project(sandbox, tmp_path)
    yield made
    shipdeck_in(made, "lock", "release", check=False, env=HERE)
    cleanup(made)


def test_auto_deploy_exit_codes_0_1_2_4_5(project: Project, sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)

    unset = auto(project, FROM_ENV.replace("CI_DB_PASSWORD", "CI_NOT_SET"))
    assert unset.returncode == 2, output(unset)
    assert "CI_NOT_SET" in output(unset)

    junit, dotenv = tmp_path / "junit.xml", tmp_path / "deploy.env"
    done = auto(project, FROM_ENV, "--junit", str(junit), "--dotenv", str(dotenv))
    assert done.returncode == 0, output(done)[-6000:]
    assert "section_start:" in done.stdout  # GitLab's collapsible sections
    assert "POSTGRES_PASSWORD holds a `$`" in output(done)
    status, body = serves_from_database(host, project)
    assert status == 200 and 'id="visits"' in body, body  # the app reads Postgres with that exact password
    version = project.version()
    assert f"SHIPDECK_VERSION={version}" in dotenv.read_text()
    assert f"DYNAMIC_ENVIRONMENT_URL=http://{project.proxy_host}" in dotenv.read_text()
    assert "<testcase" in junit.read_text()
    for text in (done.stdout, done.stderr, junit.read_text(), dotenv.read_text()):
        assert PASSWORD not in text and "p$a" not in text
    assert f"{project.service}-db" in containers_on(sandbox, host)

    shipdeck_in(project, "lock", "acquire", "-m", "held by a person", env=HERE)
    held = auto(project, FROM_ENV)
    assert held.returncode == 4, output(held)
    assert "Deploy lock found" in output(held)
    shipdeck_in(project, "lock", "release", env=HERE)

    refused = auto(project, FROM_ENV, "accessory", "remove", "db")
    assert refused.returncode == 5, output(refused)
    assert "--confirm=accessory.remove:db" in output(refused)
    assert f"{project.service}-db" in containers_on(sandbox, host)  # nothing changed

    hooks = project.path / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-deploy").write_text("#!/bin/sh\necho 'not today' >&2\nexit 1\n")
    (hooks / "pre-deploy").chmod(0o755)
    git(project.path, "add", "-A")
    git(project.path, "commit", "-qm", "a failing pre-deploy hook")
    failed = auto(project, FROM_ENV)
    assert failed.returncode == 1, output(failed)
    assert "pre-deploy" in output(failed)
    assert not lock_exists(project)


def containers_on(sandbox: Sandbox, host: str) -> str:
    return sandbox.run(host, "docker ps --format '{{.Names}}'").stdout


def test_auto_exit_2_for_a_bad_config(project: Project) -> None:
    (project.path / "config" / "deploy.yml").write_text(
        (project.path / "config" / "deploy.yml").read_text() + "\nbogus_key: 1\n")
    result = auto(project, FROM_ENV)
    assert result.returncode == 2, output(result)
    assert "bogus_key" in output(result) and "Traceback" not in output(result)


def test_auto_exit_2_for_a_missing_secret(project: Project) -> None:
    config = project.config
    config["env"]["secret"] = [*config["env"]["secret"], "RAILS_MASTER_KEY"]  # in no secrets file, not in the env
    (project.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(project.path, "commit", "-qam", "a secret nobody provides")
    result = auto(project, FROM_ENV)
    assert result.returncode == 2, output(result)
    assert "RAILS_MASTER_KEY" in output(result)
    assert not containers(project, last_host(project.sandbox))  # preflight stopped before anything ran


def test_auto_exit_3_for_an_unreachable_host(project: Project) -> None:
    config = project.config
    config["servers"]["web"]["hosts"] = ["unreachable.invalid"]
    config["accessories"] = {}
    (project.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    git(project.path, "commit", "-qam", "a host that does not exist")
    result = auto(project, FROM_ENV)
    assert result.returncode == 3, output(result)
    assert "unreachable.invalid" in output(result)


def test_auto_exit_5_for_an_old_proxy_then_rolling_upgrade(project: Project, sandbox: Sandbox) -> None:
    host = last_host(sandbox)
    sandbox.run(host, "docker network create kamal >/dev/null 2>&1; docker rm -f kamal-proxy >/dev/null 2>&1; "
                      "docker run --detach --name kamal-proxy --network kamal basecamp/kamal-proxy:v0.8.4")
    try:
        stopped = auto(project, FROM_ENV)
        assert stopped.returncode == 5, output(stopped)
        assert "--allow-proxy-reboot" in output(stopped)
        assert not containers(project, host)  # stopped before touching anything: no accessory, no app
        image = sandbox.run(host, "docker inspect -f '{{.Config.Image}}' kamal-proxy").stdout.strip()
        assert image.endswith("v0.8.4")

        upgraded = auto(project, FROM_ENV, "--allow-proxy-reboot=rolling")
        assert upgraded.returncode == 0, output(upgraded)[-6000:]
        image = sandbox.run(host, "docker inspect -f '{{.Config.Image}}' kamal-proxy").stdout.strip()
        assert image == "basecamp/kamal-proxy:v0.9.2"
        status, body = serves_from_database(host, project)
        assert status == 200 and 'id="visits"' in body
    finally:
        sandbox.run(host, "docker inspect -f '{{.Config.Image}}' kamal-proxy | grep -q v0.8.4 && "
                          "docker rm -f kamal-proxy >/dev/null", check=False)
