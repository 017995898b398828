"""load_config end to end on small projects: merge, lines, model, version, CLI behaviour."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from app.config import load_config
from app.errors import ConfigError, UsageError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = """\
service: shop
image: acme/shop
servers:
  web:
    - 10.0.0.1
    - 10.0.0.2: [replica]
  jobs:
    hosts: [10.0.0.3]
    cmd: bin/jobs
    proxy: true
    env:
      clear: {QUEUE: default}
      secret: [JOBS_TOKEN]
    logging:
      options: {max-size: 1m}
registry:
  username: deployer
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
env:
  clear: {RAILS_ENV: production, PORT: 3000}
  secret: [RAILS_MASTER_KEY, DB_PASSWORD:MAIN_DB_PASSWORD]
  tags:
    replica:
      clear: {RAILS_ENV: replica}
      secret: [REPLICA_PASSWORD]
labels:
  team: shop
logging:
  driver: json-file
  options: {max-file: 3}
proxy:
  host: shop.example.com
  app_port: 3000
accessories:
  db:
    image: postgres:16
    role: web
    port: 5432
    files:
      - config/init.sql:/docker-entrypoint-initdb.d/init.sql
    directories:
      - data:/var/lib/postgresql/data
"""


def _project(tmp_path: pathlib.Path, deploy: str = BASE) -> pathlib.Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(textwrap.dedent(deploy))
    return tmp_path


def _load(project: pathlib.Path, **kwargs):
    return load_config(cwd=str(project), environ={"PATH": "/usr/bin:/bin"}, version="v1", **kwargs)


def test_roles_hosts_and_primary(tmp_path: pathlib.Path) -> None:
    config = _load(_project(tmp_path))
    assert [role.name for role in config.roles] == ["web", "jobs"], "primary first, as Kamal runs them"
    assert config.role_names == ("jobs", "web")
    assert config.all_hosts == ("10.0.0.3", "10.0.0.1", "10.0.0.2")
    assert config.primary_host == "10.0.0.1"
    web, jobs = config.roles
    assert web.host_tags["10.0.0.2"] == ("replica",)
    assert jobs.cmd == "bin/jobs"
    assert config.absolute_image == "acme/shop:v1"
    assert config.latest_image == "acme/shop:latest"


def test_role_env_merges_root_role_and_tags(tmp_path: pathlib.Path) -> None:
    config = _load(_project(tmp_path))
    web, jobs = config.roles
    plain = web.env("10.0.0.1")
    assert dict(plain.clear) == {"RAILS_ENV": "production", "PORT": 3000}
    assert plain.secrets == (("RAILS_MASTER_KEY", "RAILS_MASTER_KEY"), ("DB_PASSWORD", "MAIN_DB_PASSWORD"))
    tagged = web.env("10.0.0.2")
    assert tagged.clear["RAILS_ENV"] == "replica"
    assert ("REPLICA_PASSWORD", "REPLICA_PASSWORD") in tagged.secrets
    jobs_env = jobs.env("10.0.0.3")
    assert jobs_env.clear["QUEUE"] == "default"
    assert [name for name, _ in jobs_env.secrets] == ["RAILS_MASTER_KEY", "DB_PASSWORD", "JOBS_TOKEN"]


def test_role_proxy_logging_and_labels(tmp_path: pathlib.Path) -> None:
    config = _load(_project(tmp_path))
    web, jobs = config.roles
    assert web.proxy is not None and web.proxy.hosts == ("shop.example.com",) and web.proxy.app_port == 3000
    assert jobs.proxy is not None and jobs.proxy.app_port == 3000, "root proxy merged under the role's"
    assert jobs.logging.args() == ["--log-driver", '"json-file"', "--log-opt", 'max-file="3"',
                                   "--log-opt", 'max-size="1m"']
    assert web.labels == {"service": "shop", "role": "web", "destination": None, "team": "shop"}
    assert web.container_prefix == "shop-web"
    assert web.container_name("v1") == "shop-web-v1"


def test_accessory_resolution(tmp_path: pathlib.Path) -> None:
    config = _load(_project(tmp_path))
    db = config.accessory("db")
    assert db is not None
    assert db.service_name == "shop-db"
    assert db.hosts == ("10.0.0.1", "10.0.0.2")
    assert db.port == "5432:5432"
    assert db.labels == {"service": "shop-db"}
    assert db.files[0].local == str(tmp_path / "config" / "init.sql")
    assert db.files[0].host_path == "shop-db/docker-entrypoint-initdb.d/init.sql"
    assert db.files[0].mode == "755"
    assert db.directories[0].host_path == "$PWD/shop-db/data"
    assert db.directories[0].volume_host_path == "shop-db/data"


def test_model_is_immutable(tmp_path: pathlib.Path) -> None:
    config = _load(_project(tmp_path))
    with pytest.raises(AttributeError):
        config.service = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.roles[0].options["x"] = 1  # type: ignore[index]


def test_destination_merge_and_error_location_in_the_destination_file(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path)
    (project / "config" / "deploy.staging.yml").write_text("servers:\n  web: [9.9.9.9]\n  jobs: [9.9.9.8]\n")
    config = _load(project, destination="staging")
    assert config.all_hosts == ("9.9.9.8", "9.9.9.9")
    assert config.roles[0].container_prefix == "shop-web-staging"
    (project / "config" / "deploy.staging.yml").write_text("servers:\n  web: [9.9.9.9]\nretain_containers: 0\n")
    with pytest.raises(ConfigError) as error:
        _load(project, destination="staging")
    assert str(error.value) == "config/deploy.staging.yml:3: Must retain at least 1 container"


def test_missing_file_message_is_kamals(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match=f"^Configuration file not found in {tmp_path}/config/deploy.yml$"):
        _load(tmp_path)


def test_version_from_env_and_missing_git(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path)
    config = load_config(cwd=str(project), environ={"PATH": "/usr/bin:/bin", "VERSION": "from-env"})
    assert config.version == "from-env"
    outside_git = {"PATH": "/usr/bin:/bin", "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}
    config = load_config(cwd=str(project), environ=outside_git)
    with pytest.raises(UsageError, match=f"no git repository found in {project}"):
        config.require_version()


def test_uncommitted_suffix_only_with_a_builder_context(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "HOME": str(tmp_path)}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=project, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    (project / "dirty").write_text("x")
    assert load_config(cwd=str(project), environ=env).version == head
    deploy = project / "config" / "deploy.yml"
    deploy.write_text(deploy.read_text().replace("  arch: amd64\n", "  arch: amd64\n  context: .\n"))
    first = load_config(cwd=str(project), environ=env).version
    second = load_config(cwd=str(project), environ=env).version
    assert first.startswith(f"{head}_uncommitted_") and len(first) == len(head) + len("_uncommitted_") + 16
    assert first != second, "Kamal uses 16 random hex digits"


def _run_cli(project: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", "config", *args], cwd=project, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def test_cli_prints_yaml_and_json(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path)
    result = _run_cli(project, "--version", "abc", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["roles"] == ["jobs", "web"] and data["absolute_image"] == "acme/shop:abc"
    yaml_result = _run_cli(project, "--version", "abc")
    assert yaml_result.stdout.startswith("---\n:roles:\n- jobs\n- web\n")  # Kamal prints Ruby symbols


def test_cli_reports_errors_in_one_line_with_exit_2(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path, BASE.replace("  arch: amd64\n", "  arch: amd64\n  colour: blue\n"))
    result = _run_cli(project, "--version", "abc")
    assert result.returncode == 2
    assert result.stderr == "shipdeck: config/deploy.yml:21: builder: unknown key: colour\n"


def test_cli_refuses_other_ruby_with_file_and_line(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path, BASE.replace("image: acme/shop", 'image: <%= File.read("x") %>'))
    result = _run_cli(project, "--version", "abc")
    assert result.returncode == 2
    assert result.stderr.startswith("shipdeck: config/deploy.yml:2: unsupported ERB `File.read(\"x\")`")


def test_only_key_data_from_secrets_is_redacted(tmp_path: pathlib.Path) -> None:
    # As in Kamal, an entry is a secret only if the secrets files define it; anything else is literal key data.
    project = _project(tmp_path, BASE + "ssh:\n  key_data: [SSH_KEY, NOT_DEFINED, '-----BEGIN KEY----- x']\n")
    (project / ".kamal").mkdir()
    (project / ".kamal" / "secrets").write_text("SSH_KEY=private-key-text\n")
    result = _run_cli(project, "--version", "abc", "--json")
    data = json.loads(result.stdout)
    assert data["ssh_options"]["key_data"] == ["[REDACTED]", "NOT_DEFINED", "-----BEGIN KEY----- x"]
    assert "private-key-text" not in result.stdout + _run_cli(project, "--version", "abc").stdout
