"""kamal-proxy command strings (both run forms), the version check and deploy arguments."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from app.config import load_config
from app.engine import proxy_ops

BOOT_CONFIG_RUN = (
    'echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt '
    'max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat '
    '.kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat .kamal/proxy/run_command 2> /dev/null || '
    'echo "") | xargs docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume '
    'kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume '
    '$PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config')


def make_config(tmp_path: Path, proxy: dict | None = None):
    config = {"service": "app", "image": "dhh/app", "servers": ["1.1.1.1", "1.1.1.2"],
              "registry": {"username": "dhh", "password": "secret"}, "builder": {"arch": "amd64"},
              "proxy": proxy if proxy is not None else {"host": "app.example.com"}}
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="123")


def test_boot_config_form_matches_kamal(tmp_path: Path) -> None:
    assert proxy_ops.run_command(make_config(tmp_path), "1.1.1.1") == BOOT_CONFIG_RUN


def test_proxy_run_form_matches_kamal(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"host": "app.example.com", "run": {"version": "v0.9.2"}})
    assert proxy_ops.run_command(config, "1.1.1.1") == (
        "docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume "
        "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume "
        "$PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --publish 80:80 --publish 443:443 "
        "--log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run")


def test_proxy_run_form_with_ports_bind_ips_metrics_debug_and_options(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"host": "app.example.com", "run": {
        "http_port": 8080, "https_port": 8443, "bind_ips": ["10.0.0.1", "fd00::1"], "metrics_port": 9090,
        "debug": True, "registry": "registry:4443", "repository": "me/proxy", "version": "v0.9.3",
        "options": {"cpus": 2}}})
    assert proxy_ops.run_command(config, "1.1.1.2") == (
        "docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume "
        "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume "
        "$PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config "
        "--publish 10.0.0.1:8080:80 --publish 10.0.0.1:8443:443 "
        "--publish [fd00::1]:8080:80 --publish [fd00::1]:8443:443 "
        '--log-opt max-size=10m --expose=9090 --cpus "2" registry:4443/me/proxy:v0.9.3 '
        'kamal-proxy run --debug --metrics-port "9090"')


@pytest.mark.parametrize(("version", "older"), [
    ("v0.8.4", True), ("v0.9.1", True), ("v0.9.2", False), ("v0.9.10", False), ("v1.0.0", False),
    ("0.9.2", False), ("v0.9.2.rc1", True), ("v0.10.0", False),
])
def test_older_version_compares_like_gem_version(version: str, older: bool) -> None:
    assert proxy_ops.older_version(version, "v0.9.2") is older


def test_too_old_message_is_kamals() -> None:
    assert proxy_ops.too_old_message("v0.8.4") == (
        "kamal-proxy version v0.8.4 is too old, run `kamal proxy reboot` in order to update to at least v0.9.2")


def test_deploy_args_match_kamal(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"host": "app.example.com", "healthcheck": {"path": "/up", "interval": 1},
                                    "response_timeout": 10})
    role = config.role("web")
    assert proxy_ops.deploy_args(config, role.proxy, "abc123def456") == [
        '--target="abc123def456:80"', '--host="app.example.com"', '--deploy-timeout="30s"',
        '--drain-timeout="30s"', '--health-check-interval="1s"', '--health-check-path="/up"',
        '--target-timeout="10s"', "--buffer-requests", "--buffer-responses",
        '--log-request-header="Cache-Control"', '--log-request-header="Last-Modified"',
        '--log-request-header="User-Agent"']


def test_reboot_request_lists_the_commands_per_host_and_names_the_flag(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    run = SimpleNamespace(config=config, targets=None)
    request = proxy_ops.reboot_request(run, ["1.1.1.1", "1.1.1.2"], rolling=True)
    assert request.flag == "--confirm=proxy.reboot:kamal-proxy"
    assert request.hosts == ("1.1.1.1", "1.1.1.2")
    on_first = [effect.description for effect in request.effects if effect.host == "1.1.1.1"]
    assert on_first == ["audit: Rebooted proxy", "docker login -u [REDACTED] -p [REDACTED]",
                        "docker container stop kamal-proxy",
                        "docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy",
                        "mkdir -p .kamal/proxy/apps-config", BOOT_CONFIG_RUN]
    assert "one host at a time" in request.title


def test_default_boot_run_is_the_plain_docker_run_when_no_boot_files_exist() -> None:
    assert proxy_ops.default_run_without_boot_files() == (
        "docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume "
        "kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume "
        "$PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --publish 80:80 --publish 443:443 "
        "--log-opt max-size=10m basecamp/kamal-proxy:v0.9.2")


def test_logs_command_matches_kamal() -> None:
    from app.engine import app_commands

    assert app_commands.docker_logs_command("kamal-proxy", since="5m", lines=100, timestamps=True,
                                            grep="x", grep_options="-i") == (
        "docker logs kamal-proxy --since 5m --tail 100 --timestamps 2>&1 | grep 'x' -i")
