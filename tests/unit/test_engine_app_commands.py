"""Kamal's app command strings, checked against the strings quoted from Kamal's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import load_config
from app.engine import app_commands as commands


def make_config(tmp_path: Path, extra: dict | None = None, destination: str | None = None, version: str = "999"):
    config = {
        "service": "app",
        "image": "dhh/app",
        "servers": {"web": ["1.1.1.1", "1.1.1.2"], "workers": {"hosts": ["1.1.1.3"], "cmd": "bin/jobs"}},
        "registry": {"username": "dhh", "password": "secret"},
        "builder": {"arch": "amd64"},
    }
    config.update(extra or {})
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    if destination:
        (tmp_path / "config" / f"deploy.{destination}.yml").write_text("{}\n")
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version=version,
                       destination=destination)


@pytest.fixture
def config(tmp_path: Path):
    return make_config(tmp_path)


def test_run_matches_kamal(config) -> None:
    web = config.role("web")
    assert commands.run(config, web, "1.1.1.1", "999") == (
        'docker run --detach --restart unless-stopped --name app-web-999 --network kamal '
        '--env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" '
        '--env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" '
        '--label service="app" --label role="web" --label destination dhh/app:999')


def test_run_with_hostname_destination_env_options_and_cmd(tmp_path: Path) -> None:
    config = make_config(tmp_path, {
        "env": {"clear": {"RAILS_ENV": "production"}, "secret": ["DB_PASSWORD"]},
        "volumes": ["/local/path:/container/path"],
        "servers": {"web": ["1.1.1.1"], "workers": {"hosts": ["1.1.1.3"], "cmd": "bin/jobs",
                                                    "options": {"memory": "2g", "init": True}}},
    }, destination="staging")
    workers = config.role("workers")
    assert commands.run(config, workers, "1.1.1.3", "999", hostname="1.1.1.3-0123456789ab") == (
        'docker run --detach --restart unless-stopped --name app-workers-staging-999 --network kamal '
        '--hostname 1.1.1.3-0123456789ab --env KAMAL_CONTAINER_NAME="app-workers-staging-999" '
        '--env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.3" --env KAMAL_DESTINATION="staging" '
        '--env RAILS_ENV="production" --env-file .kamal/apps/app-staging/env/roles/workers.env '
        '--log-opt max-size="10m" --volume /local/path:/container/path '
        '--label service="app" --label role="workers" --label destination="staging" '
        '--memory "2g" --init dhh/app:999 bin/jobs')


def test_current_running_version_matches_kamal(config) -> None:
    assert commands.current_running_version(config, config.role("web")) == (
        "sh -c 'docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=service=app "
        "--filter label=destination= --filter label=role=web --filter status=running --filter status=restarting "
        "--filter ancestor=$(docker image ls --filter reference=dhh/app:latest --format '\\''{{.ID}}'\\'') ; "
        "docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=service=app --filter label=destination= "
        "--filter label=role=web --filter status=running --filter status=restarting' | head -1 | "
        "while read line; do echo ${line#app-web-}; done")


def test_proxy_deploy_matches_kamal(config) -> None:
    assert commands.proxy_deploy(config, config.role("web"), "172.1.0.2", "999") == (
        'docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" --deploy-timeout="30s" '
        '--drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" '
        '--log-request-header="Last-Modified" --log-request-header="User-Agent"')


def test_proxy_deploy_renders_every_option(tmp_path: Path) -> None:
    config = make_config(tmp_path, {
        "proxy": {"hosts": ["a.example", "b.example"], "app_port": 3000, "ssl": True, "ssl_redirect": False,
                  "forward_headers": True, "response_timeout": 10, "path_prefix": "/api",
                  "strip_path_prefix": False, "healthcheck": {"path": "/health", "interval": 2, "timeout": 3},
                  "buffering": {"requests": False, "memory": 2000, "max_request_body": 10},
                  "logging": {"request_headers": ["X-A"], "response_headers": ["X-B"]}},
        "servers": {"web": ["1.1.1.1"]},
        "deploy_timeout": 20, "drain_timeout": 5, "error_pages_path": "public",
    })
    assert commands.proxy_deploy(config, config.role("web"), "abc", "999") == (
        'docker exec kamal-proxy kamal-proxy deploy app-web --target="abc:3000" --host="a.example" '
        '--host="b.example" --tls --deploy-timeout="20s" --drain-timeout="5s" --health-check-interval="2s" '
        '--health-check-timeout="3s" --health-check-path="/health" --target-timeout="10s" '
        '--buffer-requests="false" --buffer-responses --buffer-memory="2000" --max-request-body="10" '
        '--path-prefix="/api" --strip-path-prefix="false" --forward-headers --tls-redirect="false" '
        '--log-request-header="X-A" --log-response-header="X-B" '
        '--error-pages="/home/kamal-proxy/.apps-config/app/error_pages/999"')


def test_status_and_stop_commands(config) -> None:
    web, workers = config.role("web"), config.role("workers")
    assert commands.status(web, "123") == (
        "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker inspect --format "
        "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'")
    # proxy roles: kamal-proxy drained already, so no -t; other roles wait drain_timeout
    assert commands.stop(config, web, "123") == \
        "docker container ls --all --filter 'name=^app-web-123$' --quiet | xargs docker stop"
    assert commands.stop(config, workers, "123") == \
        "docker container ls --all --filter 'name=^app-workers-123$' --quiet | xargs docker stop -t 30"
    assert commands.stop(config, web).startswith("sh -c 'docker ps --latest --quiet --filter label=service=app")
    assert commands.stop(config, web).endswith("' | head -1 | xargs docker stop")


def test_list_versions_rename_and_tag(config) -> None:
    web = config.role("web")
    assert commands.list_versions(config, web) == (
        'docker ps --filter label=service=app --filter label=destination= --filter label=role=web '
        '--format "{{.Names}}" | while read line; do echo ${line#app-web-}; done')
    assert commands.rename(web, "999", "999_replaced_0123456789abcdef") == \
        "docker rename app-web-999 app-web-999_replaced_0123456789abcdef"
    assert commands.tag_latest(config, "999") == "docker tag dhh/app:999 dhh/app:latest"


def test_logs_command(config) -> None:
    source = commands.current_running_container_id(config, config.role("web"))
    assert commands.logs("echo C137", since="5m", lines=100, grep="hey") == \
        "echo C137 | xargs docker logs --timestamps --since 5m --tail 100 2>&1 | grep 'hey'"
    assert commands.logs(source, timestamps=False, lines=10, follow=True).endswith(
        "| head -1 | xargs docker logs --tail 10 --follow 2>&1")


def test_exec_commands(config) -> None:
    web = config.role("web")
    assert commands.execute_in_new_container(config, web, "1.1.1.1", "999", "bin/rails c", env={"foo": "bar"},
                                             name="app-web-exec-999-abcdef") == (
        'docker run --rm --name app-web-exec-999-abcdef --network kamal --env-file '
        '.kamal/apps/app/env/roles/web.env --env foo="bar" --log-opt max-size="10m" dhh/app:999 bin/rails c')
    assert commands.execute_in_existing_container(web, "999", "bin/rails c", env={"foo": "bar"}) == \
        'docker exec --env foo="bar" app-web-999 bin/rails c'


def test_maintenance_and_live(config) -> None:
    web = config.role("web")
    assert commands.proxy_maintenance(web, 10, "Back soon") == \
        'docker exec kamal-proxy kamal-proxy stop app-web --drain-timeout="10s" --message="Back soon"'
    assert commands.proxy_live(web) == "docker exec kamal-proxy kamal-proxy resume app-web"


def test_prune_commands_match_kamal(config) -> None:
    assert commands.prune_app_containers(config, 3) == (
        "docker ps -q -a --filter label=service=app --filter status=created --filter status=exited "
        "--filter status=dead | tail -n +4 | while read container_id; do docker rm $container_id; done")
    assert commands.prune_dangling_images(config) == "docker image prune --force --filter label=service=app"
    assert commands.prune_tagged_images(config) == (
        "docker image ls --filter label=service=app --format '{{.ID}} {{.Repository}}:{{.Tag}}' | "
        "grep -v -w \"$(docker container ls -a --format '{{.Image}}\\|' --filter label=service=app | "
        "tr -d '\\n')dhh/app:latest\\|dhh/app:<none>\" | while read image tag; do docker rmi $tag; done")


def test_asset_commands(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"asset_path": "/public/assets", "servers": {"web": ["1.1.1.1"]}})
    web = config.role("web")
    assert commands.extract_assets(config, web, "999") == (
        "mkdir -p .kamal/apps/app/assets/extracted/web-999 && docker container rm app-web-assets 2> /dev/null "
        "|| true && docker container create --name app-web-assets dhh/app:999 && docker container cp -L "
        "app-web-assets:/public/assets/. .kamal/apps/app/assets/extracted/web-999 && docker container rm "
        "app-web-assets")
    assert commands.sync_asset_volumes(config, web, "999", "998") == (
        "mkdir -p .kamal/apps/app/assets/volumes/web-999 ; cp -rnT .kamal/apps/app/assets/extracted/web-999 "
        ".kamal/apps/app/assets/volumes/web-999 ; cp -rnT .kamal/apps/app/assets/extracted/web-999 "
        ".kamal/apps/app/assets/volumes/web-998 || true ; cp -rnT .kamal/apps/app/assets/extracted/web-998 "
        ".kamal/apps/app/assets/volumes/web-999 || true")
    assert commands.clean_up_assets(config, web, "999") == (
        "find .kamal/apps/app/assets/extracted -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf \"{}\" + ; "
        "find .kamal/apps/app/assets/volumes -maxdepth 1 -name 'web-*' ! -name web-999 -exec rm -rf \"{}\" +")
    assert "--volume $PWD/.kamal/apps/app/assets/volumes/web-999:/public/assets" in commands.run(config, web,
                                                                                                  "1.1.1.1", "999")
