"""The pipeline `shipdeck ci gitlab` prints, run by a real GitLab runner emulation (gitlab-ci-local) against the
sandbox: stdin closed, no TTY, SSH from the pipeline's variables, a database password full of characters that
CI variable expansion and shells mangle."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest
import yaml

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, cleanup, get, git
from tests.sandbox.ops_support import last_host, shipdeck_in
from tests.sandbox.test_auto_sandbox import auto_project, serves_from_database

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = 'p$a"ss! \\w #rd'
WRITTEN = PASSWORD.replace("$", "$$")  # as it is typed into GitLab's variable settings


def _venv(directory: Path) -> Path:
    """A venv that sees the machine's packages (shipdeck's dependencies), first on the job's PATH."""
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(directory)
    return directory / "bin"


def _run_pipeline(project: Project, home: Path, bin_dir: Path, password: str) -> subprocess.CompletedProcess[str]:
    sandbox = project.sandbox
    variables = {
        "SSH_PRIVATE_KEY": sandbox.ssh_key.read_text().strip(),
        "SSH_KNOWN_HOSTS": sandbox.known_hosts.read_text().strip(),
        "KAMAL_REGISTRY_PASSWORD": sandbox.registry_password,
        "POSTGRES_PASSWORD": password,
        "SHIPDECK_PIP_SPEC": str(ROOT),
    }
    argv = ["gitlab-ci-local", "--force-shell-executor"]
    for name, value in variables.items():
        argv += ["--variable", f"{name}={value}"]
    env = sandbox.env()
    for name in ("POSTGRES_PASSWORD", "KAMAL_REGISTRY_PASSWORD"):
        env.pop(name, None)  # only the pipeline's variables may carry them
    env.update(HOME=str(home), PATH=f"{bin_dir}:{env['PATH']}", PIP_NO_BUILD_ISOLATION="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run([*argv, "deploy"], cwd=project.path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture
def project(sandbox: Sandbox, tmp_path: Path):
    made = auto_project(sandbox, tmp_path)
    config = made.config
    config["ssh"] = {"user": "root"}  # the job's ~/.ssh (written from the pipeline's variables), as in real CI
    (made.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    branch = git(made.path, "rev-parse", "--abbrev-ref", "HEAD")
    pipeline = shipdeck_in(made, "ci", "gitlab", "--branch", branch, env={"PYTHONPATH": str(ROOT)}).stdout
    (made.path / ".gitlab-ci.yml").write_text(pipeline)
    (made.path / ".gitignore").write_text((made.path / ".gitignore").read_text() + ".gitlab-ci-local/\n")
    git(made.path, "add", "-A")
    git(made.path, "commit", "-qm", "the pipeline shipdeck prints")
    git(made.path, "remote", "add", "origin", "https://gitlab.example.com/demo/demo.git")
    yield made
    cleanup(made)


def test_the_printed_pipeline_deploys_with_a_hostile_password(project: Project, sandbox: Sandbox,
                                                              tmp_path: Path) -> None:
    missing = [tool for tool in ("gitlab-ci-local", "rsync") if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} not installed (.ci/install-deps installs them)"
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = _venv(tmp_path / "venv")
    first = _run_pipeline(project, home, bin_dir, WRITTEN)
    log = first.stdout + first.stderr
    assert first.returncode == 0, log[-8000:]
    assert "PASS" in log and "deploy" in log
    status, body = serves_from_database(last_host(sandbox), project)
    assert status == 200 and 'id="visits"' in body, body  # the app reads Postgres with that exact password
    assert "--secrets-from-env=POSTGRES_PASSWORD" in (project.path / ".gitlab-ci.yml").read_text()
    reports = [project.path / "shipdeck-junit.xml", project.path / "deploy.env"]
    assert all(report.exists() for report in reports)
    assert f"SHIPDECK_VERSION={project.version()}" in (project.path / "deploy.env").read_text()
    for text in (log, *(report.read_text() for report in reports)):
        assert PASSWORD not in text and sandbox.registry_password not in text

    # An update: a new commit, the same pipeline and variables; the new version serves, reading the database.
    updated_version = project.commit("an update through the pipeline")
    update = _run_pipeline(project, home, bin_dir, WRITTEN)
    log = update.stdout + update.stderr
    assert update.returncode == 0, log[-8000:]
    assert f"SHIPDECK_VERSION={updated_version}" in (project.path / "deploy.env").read_text()
    status, body = serves_from_database(last_host(sandbox), project)
    assert status == 200 and 'id="visits"' in body, body
    assert get(last_host(sandbox), project.proxy_host, "/version")[1].strip() == updated_version
    assert PASSWORD not in log and sandbox.registry_password not in log

    # The same with one `$` left unescaped: GitLab expands `$a` to nothing, and the preflight names the secret
    # that no longer matches what the database was booted with (never its value).
    mangled = _run_pipeline(project, home, bin_dir, PASSWORD)
    log = mangled.stdout + mangled.stderr
    assert "accessory db: POSTGRES_PASSWORD differs from the value it was booted with" in log, log[-8000:]
    assert PASSWORD.replace("$a", "") not in log and PASSWORD not in log
