"""Accessory command strings and plans, checked against the strings quoted from Kamal's tests."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from app.config import load_config
from app.engine import accessories

ACCESSORIES = {
    "mysql": {"image": "private.registry/mysql:8.0", "host": "1.1.1.5", "port": "3306",
              "env": {"clear": {"MYSQL_ROOT_HOST": "%"}, "secret": ["MYSQL_ROOT_PASSWORD"]}},
    "redis": {"image": "redis:latest", "host": "1.1.1.6", "port": "6379:6379", "labels": {"cache": "true"},
              "env": {"SOMETHING": "else"}, "volumes": ["/var/lib/redis:/data"]},
    "busybox": {"service": "custom-busybox", "image": "busybox:latest", "host": "1.1.1.7",
                "options": {"cpus": "4", "memory": "2GB"}, "cmd": "sleep 3600",
                "directories": ["data:/var/data", "/srv/abs:/abs:ro"], "files": ["config/my.cnf:/etc/my.cnf"]},
}


def make_config(tmp_path: Path, accessories_config: dict | None = None):
    config = {"service": "app", "image": "dhh/app", "servers": ["1.1.1.1"],
              "registry": {"server": "private.registry", "username": "dhh", "password": "secret"},
              "builder": {"arch": "amd64"}, "accessories": accessories_config or ACCESSORIES}
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "my.cnf").write_text("[mysqld]\n")
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="999")


@pytest.fixture
def config(tmp_path: Path):
    return make_config(tmp_path)


def test_run_matches_kamal(config) -> None:
    assert accessories.run_command(config, config.accessory("mysql")) == (
        'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env '
        '--label service="app-mysql" private.registry/mysql:8.0')
    assert accessories.run_command(config, config.accessory("redis")) == (
        'docker run --name app-redis --detach --restart unless-stopped --network kamal --log-opt max-size="10m" '
        '--publish 6379:6379 --env SOMETHING="else" --env-file .kamal/apps/app/env/accessories/redis.env '
        '--volume /var/lib/redis:/data --label service="app-redis" --label cache="true" redis:latest')


def test_run_with_host_options_directories_files_and_cmd(config) -> None:
    assert accessories.run_command(config, config.accessory("busybox"), host="1.1.1.7") == (
        'docker run --name custom-busybox --detach --restart unless-stopped --network kamal '
        '--log-opt max-size="10m" --env KAMAL_HOST="1.1.1.7" '
        '--env-file .kamal/apps/app/env/accessories/busybox.env '
        '--volume $PWD/custom-busybox/etc/my.cnf:/etc/my.cnf --volume $PWD/custom-busybox/data:/var/data '
        '--volume /srv/abs:/abs:ro --label service="custom-busybox" --cpus "4" --memory "2GB" busybox:latest '
        'sleep 3600')


def test_exec_commands_match_kamal(config) -> None:
    mysql = config.accessory("mysql")
    assert accessories.exec_new_command(config, mysql, "mysql -u root") == (
        'docker run --rm --network kamal --env MYSQL_ROOT_HOST="%" '
        '--env-file .kamal/apps/app/env/accessories/mysql.env private.registry/mysql:8.0 mysql -u root')
    assert accessories.exec_existing_command(mysql, "mysql -u root") == "docker exec app-mysql mysql -u root"
    assert accessories.exec_existing_command(mysql, "bash", interactive=True) == "docker exec -it app-mysql bash"


def test_logs_command_matches_kamal(config) -> None:
    assert accessories.logs_command(config.accessory("mysql"), since="5m", lines=100, timestamps=True, grep="x",
                                    grep_options="-i") == (
        "docker logs app-mysql  --since 5m  --tail 100 --timestamps 2>&1 | grep 'x' -i")


def test_env_file_holds_only_the_secrets(config) -> None:
    run = SimpleNamespace(secrets={"MYSQL_ROOT_PASSWORD": 'pa$$ "w"\\d'})
    content = accessories.env_file_content(run, config.accessory("mysql"))
    assert content == 'MYSQL_ROOT_PASSWORD=pa$$ "w"\\\\d\n'
    assert accessories.env_file_content(run, config.accessory("redis")) == "\n"


def test_remove_request_lists_what_is_destroyed_and_names_the_flag(config) -> None:
    run = SimpleNamespace(config=config, targets=None)
    request = accessories.remove_request(run, "busybox")
    assert request.destroys_data and request.flag == "--confirm=accessory.remove:busybox"
    effects = [(effect.host, effect.description) for effect in request.effects]
    assert effects[0] == ("1.1.1.7", "remove container custom-busybox (docker container prune --force --filter "
                                     "label=service=custom-busybox)")
    assert effects[1] == ("1.1.1.7", "remove image busybox:latest (docker image rm --force busybox:latest)")
    assert effects[2][1] == ("delete directory ~/custom-busybox (rm -rf custom-busybox), including data "
                             "directories ~/custom-busybox/data, /srv/abs")


def test_unknown_accessory_names_the_options(config) -> None:
    from app.errors import UsageError

    run = SimpleNamespace(config=config, targets=None)
    with pytest.raises(UsageError, match=r"No accessory by the name of 'nope' \(options: mysql, redis and busybox\)"):
        accessories.lookup(run, "nope")


def test_erb_files_render_with_the_accessory_env(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "init.sql.erb").write_text("CREATE USER app PASSWORD '<%= ENV[\"DB_PASSWORD\"] %>';\n")
    config = make_config(tmp_path, {"db": {"image": "postgres:15", "host": "1.1.1.5",
                                           "env": {"secret": ["DB_PASSWORD"]},
                                           "files": ["config/init.sql.erb:/docker-entrypoint-initdb.d/init.sql"]}})
    run = SimpleNamespace(config=config, secrets={"DB_PASSWORD": "s3cr3t"})
    accessory = config.accessory("db")
    assert accessories.render_file(run, accessory, accessory.files[0].local) == \
        b"CREATE USER app PASSWORD 's3cr3t';\n"
