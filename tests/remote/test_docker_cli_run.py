"""Kamal-style `docker run` commands, once through the real docker CLI and once through the Engine API
translation (over a real SSH-forwarded socket): the create bodies and the `docker inspect` results
must be the same, up to ids, timestamps and network endpoint details."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from app.remote.docker_cli import run_container
from app.remote.docker_run import translate_run_command
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_capture import RecordingProxy
from tests.remote.docker_fixtures import DOCKER_CLI, inspect, remove

home, run_id, test_image, test_network = fixtures.home, fixtures.run_id, fixtures.test_image, fixtures.test_network
remote_docker = fixtures.remote_docker

ENV_FILES = {
    ".kamal/apps/{p}app/env/roles/web.env": "SECRET_KEY_BASE=abc$def\nDATABASE_URL=postgres://u:p@db/app\n",
    ".kamal/apps/{p}app-staging/env/roles/web.env": "RAILS_ENV=staging\n# comment\n  PADDED=1\n",
    ".kamal/apps/{p}app/env/roles/jobs.env": "QUEUE=default\n",
    ".kamal/apps/{p}app/env/accessories/db.env": "POSTGRES_PASSWORD=\"quoted stays\"\n",
}


def _app(role: str) -> str:
    return (f"--detach --restart unless-stopped --name {{p}}app-{role}-999 --network {{net}} "
            f'--hostname 1.1.1.1-0a1b2c3d4e5f --env KAMAL_CONTAINER_NAME="{{p}}app-{role}-999" '
            '--env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1"')


_APP = _app("web")
_LOG = '--log-opt max-size="10m"'
CORPUS = {
    "app-web-no-destination":
        f'{_APP} --env K="v" --env-file .kamal/apps/{{p}}app/env/roles/web.env {_LOG} '
        '--label service="{p}app" --label role="web" --label destination {img}',
    "app-web-with-destination":
        '--detach --restart unless-stopped --name {p}app-web-staging-999 --network {net} '
        '--hostname 1.1.1.1-9f8e7d6c5b4a --env KAMAL_CONTAINER_NAME="{p}app-web-staging-999" '
        '--env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env KAMAL_DESTINATION="staging" '
        f'--env-file .kamal/apps/{{p}}app-staging/env/roles/web.env {_LOG} --label service="{{p}}app" '
        '--label role="web" --label destination="staging" {img}',
    "app-jobs-volume-memory-cmd":
        _app("jobs") + ' --env-file .kamal/apps/{p}app/env/roles/jobs.env '
        f'{_LOG} --volume $PWD/{{p}}app-db/data:/var/lib/postgresql/data --label service="{{p}}app" '
        '--label role="jobs" --label destination --memory "2g" {img} sh -c "exec sleep 3600"',
    "app-resource-options":
        f'{_APP} {_LOG} --label service="{{p}}app" --label role="web" --label destination --cpus "0.5" '
        '--cpu-shares "512" --memory "512m" --memory-swap "1g" --memory-reservation "256m" --pids-limit "200" '
        '--ulimit "nofile=1024:2048" --shm-size "64m" --init --stop-signal "SIGINT" --stop-timeout "20" {img}',
    "app-healthcheck-options":
        f'{_APP} {_LOG} --label service="{{p}}app" --label role="web" --label destination '
        '--health-cmd "wget -q -O /dev/null http://localhost:3000/up || exit 1" --health-interval "30s" '
        '--health-timeout "5s" --health-retries "3" --health-start-period "1m" {img}',
    "app-security-options":
        f'{_APP} {_LOG} --label service="{{p}}app" --label role="web" --label destination --cap-add "NET_ADMIN" '
        '--cap-drop "all" --security-opt "no-new-privileges" --read-only --tmpfs "/tmp:rw,size=16m" '
        '--tmpfs /run --user "1000:1000" --workdir "/tmp" --group-add "100" {img}',
    "app-network-options":
        f'{_APP} {_LOG} --label service="{{p}}app" --label role="web" --label destination '
        '--add-host "db.internal:10.0.0.2" --add-host "gw:host-gateway" --dns "1.1.1.1" '
        '--dns-search "example.com" --network-alias "web" --network-alias "www" --expose "3000" '
        '--expose "7000-7001/udp" --sysctl "net.core.somaxconn=1024" {img}',
    "app-log-driver-and-custom-labels":
        f'{_APP} --log-driver "json-file" --log-opt max-size="5m" --log-opt max-file="3" '
        '--label service="{p}app" --label role="web" --label destination '
        '--label traefik.http.routers.app.rule="Host(\\`example.com\\`)" --label note="a \\"quoted\\" value" {img}',
    "app-assets-volume-and-escaped-env":
        f'{_APP} --env MSG="quote \\" backslash \\\\ dollar \\$HOME hash \\#{{{{x}}}} newline \\n" '
        f'--env EMPTY="" --env UNICODE="ünïcödé" {_LOG} '
        '--volume $PWD/.kamal/apps/{p}app/assets/volumes/web-999:/rails/public/assets '
        '--volume ./relative:/rel:ro --label service="{p}app" --label role="web" --label destination {img}',
    "app-exec-one-off-detached":
        '--detach --name {p}app-web-exec-999-a1b2c3 --network {net} --env KAMAL_HOST="1.1.1.1" '
        f'--env-file .kamal/apps/{{p}}app/env/roles/web.env {_LOG} {{img}} sh -c "echo done"',
    "accessory-db-publish":
        '--name {p}app-db --detach --restart unless-stopped --network {net} --log-opt max-size="10m" '
        '--publish 127.0.0.1:{port1}:5432 --env KAMAL_HOST="1.1.1.1" --env POSTGRES_USER="app" '
        '--env-file .kamal/apps/{p}app/env/accessories/db.env --volume $PWD/{p}app-db/data:/var/lib/postgresql/data '
        '--label service="{p}app-db" --cpus "1" --memory "2GB" {img}',
    "accessory-redis-multi-publish-and-named-volume":
        '--name {p}app-redis --detach --restart unless-stopped --network {net} --log-opt max-size="10m" '
        '--publish {port1}:6379 --publish 127.0.0.1:{port2}:6380/udp --volume {p}redis-data:/data '
        '--label service="{p}app-redis" --label backup="nightly" {img} sh -c "exec sleep 3600"',
    "accessory-mounts":
        '--name {p}app-files --detach --restart unless-stopped --network {net} --log-opt max-size="10m" '
        '--mount type=bind,src=$PWD,dst=/host-home,readonly --mount type=tmpfs,dst=/scratch,tmpfs-size=1m '
        '--mount type=volume,src={p}files,dst=/files,volume-nocopy --label service="{p}app-files" {img}',
    "kamal-proxy":
        '--name {p}kamal-proxy --network {net} --detach --restart unless-stopped '
        '--volume {p}kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy '
        '--volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config '
        '--publish {port1}:80 --publish {port2}:443 --log-opt max-size=10m {img} sh -c "exec sleep 3600"',
    "kamal-proxy-run-config":
        '--name {p}kamal-proxy --network {net} --detach --restart unless-stopped '
        '--volume {p}kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy '
        '--volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config '
        '--publish 127.0.0.1:{port1}:80 --publish 127.0.0.1:{port2}:443 --log-opt max-size=10m --expose=9090 '
        '--label org.opencontainers.image.title="kamal-proxy" {img} sh -c "exec sleep 3600"',
    "other-run-options":
        '--detach --name {p}misc --restart on-failure:3 --device /dev/null:/dev/xnull:rw --entrypoint /bin/sh '
        '--platform linux/amd64 --pull never -e A=1 -l x=y -h misc.example.com {img} '
        '-c "exec sleep 3600"',
    "attached-with-output-and-exit-code":
        '--name {p}attached --network {net} {img} sh -c "echo out; echo err >&2; exit 3"',
    "attached-interactive-stdin":
        '-i --name {p}interactive --network {net} {img} sh -c "cat; echo read-all >&2"',
}
STDIN = {"attached-interactive-stdin": "SELECT 1;\nSELECT 'two';\n"}


def _render(text: str, prefix: str, network: str, image: str, ports: tuple[int, int]) -> str:
    return text.format(p=f"{prefix}-", net=network, img=image, port1=ports[0], port2=ports[1])


def _container_name(argv_text: str) -> str:
    return re.search(r"--name (\S+)", argv_text).group(1)


def _normalised(info: dict) -> dict:
    """Drop what legitimately differs between two runs of the same command."""
    container_id = info["Id"]
    info = json.loads(json.dumps(info).replace(container_id, "<id>").replace(container_id[:12], "<id12>"))
    info["Created"] = "<time>"
    for key in ("StartedAt", "FinishedAt", "Pid"):
        info["State"][key] = "<runtime>"
    if info["State"].get("Health"):
        info["State"]["Health"]["Log"] = "<probes>"
    info["GraphDriver"]["Data"] = "<layers>"
    settings = info["NetworkSettings"]
    for key in ("SandboxID", "SandboxKey", "EndpointID", "IPAddress", "MacAddress", "Gateway", "IPPrefixLen"):
        settings[key] = "<endpoint>"
    for endpoint in (settings.get("Networks") or {}).values():
        for key in ("EndpointID", "IPAddress", "MacAddress", "Gateway", "IPPrefixLen", "DriverOpts"):
            endpoint[key] = "<endpoint>"
    # The docker CLI keeps -v binds and --env values in Go maps: their order varies from run to run.
    info["HostConfig"]["Binds"] = sorted(info["HostConfig"]["Binds"] or [])
    info["Config"]["Env"] = sorted(info["Config"]["Env"] or [])
    for mount in info["Mounts"]:
        if re.fullmatch(r"[0-9a-f]{64}", mount.get("Name", "")):
            mount["Source"] = mount["Source"].replace(mount["Name"], "<anonymous>")
            mount["Name"] = "<anonymous>"
    info["Mounts"].sort(key=lambda mount: mount["Destination"])
    return info


def _comparable_body(body: dict) -> dict:
    body = json.loads(json.dumps(body))
    body["HostConfig"]["Binds"] = sorted(body["HostConfig"]["Binds"] or [])
    body["Env"] = sorted(body["Env"] or [])
    return body


def _free_ports() -> tuple[int, int]:
    import socket

    ports = []
    sockets = [socket.socket() for _ in range(2)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
        ports.append(probe.getsockname()[1])
    for probe in sockets:
        probe.close()
    return ports[0], ports[1]


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 15


@pytest.mark.parametrize("case", list(CORPUS))
async def test_translated_run_matches_the_docker_cli(case, home, run_id, test_network, test_image,
                                                      remote_docker) -> None:
    argv_text = _render(CORPUS[case], run_id, test_network, test_image, _free_ports())
    command = f"docker run {argv_text}"
    name = _container_name(argv_text)
    env_files = {path.format(p=f"{run_id}-"): text for path, text in ENV_FILES.items()}
    for path, text in env_files.items():
        (home / path).parent.mkdir(parents=True, exist_ok=True)
        (home / path).write_text(text)
    stdin = STDIN.get(case)
    detached = "--detach" in argv_text

    with RecordingProxy() as proxy:
        cli = subprocess.run(["sh", "-c", command], cwd=home, input=stdin or "", capture_output=True, text=True,
                             env={"PATH": f"{DOCKER_CLI.rsplit('/', 1)[0]}:/usr/bin:/bin", "HOME": str(home),
                                  "PWD": str(home), "DOCKER_HOST": proxy.url, "DOCKER_CONFIG": str(home / ".docker")})
        cli_body = proxy.create_body()
    try:
        assert cli.returncode == (3 if case.startswith("attached-with") else 0), cli.stderr
        cli_info = _normalised(inspect(name))
    finally:
        remove(name)

    request = translate_run_command(command, str(home), env_files)
    try:
        result = await run_container(remote_docker, request, stdin=stdin.encode() if stdin else None)
        api_info = _normalised(inspect(name))
    finally:
        remove(name)

    assert _comparable_body(request.body) == _comparable_body(cli_body)
    assert api_info == cli_info
    if detached:
        assert result.exit_code is None
    else:
        assert (result.exit_code, result.stdout, result.stderr) == (cli.returncode, cli.stdout, cli.stderr)
