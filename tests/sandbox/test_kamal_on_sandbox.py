"""The sandbox is faithful: real Kamal 2.11 sets up and deploys the demo project to it, unmodified."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.fleet import Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]
# Forget earlier deploys of the demo service only (its containers, accessories, env files, lock, data),
# so `kamal setup` starts from servers that never saw it; other services on the fleet are left alone.
RESET = ("for s in demo demo-db demo-redis; do docker ps -aq --filter label=service=$s | xargs -r docker rm -f"
         " >/dev/null; done; rm -rf .kamal/apps/demo .kamal/lock-demo demo-db demo-redis; true")


def kamal(project: Path, sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kamal", *args], cwd=project, env=sandbox.env(), capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, f"kamal {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    return result


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
        return reply.read().decode()


def test_real_kamal_sets_up_and_deploys_the_demo_project(sandbox: Sandbox, demo_project: Path) -> None:
    for host in sandbox.hosts:
        sandbox.run(host, RESET)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=demo_project, capture_output=True, text=True,
                          check=True).stdout == ""
    config = yaml.safe_load((demo_project / "config" / "deploy.yml").read_text())
    web_hosts = config["servers"]["web"]["hosts"]
    version = subprocess.run(["git", "rev-parse", "HEAD"], cwd=demo_project, capture_output=True, text=True,
                             check=True).stdout.strip()

    setup = kamal(demo_project, sandbox, "setup")
    assert "docker buildx build --output=type=registry" in setup.stdout
    kamal(demo_project, sandbox, "deploy")

    counts = []
    for address in web_hosts:
        for _ in range(2):
            page = fetch(f"http://{address}/")  # kamal-proxy on port 80 -> the app -> Postgres
            assert f'<b id="version">{version}</b>' in page
            assert f'<b id="host">{address}</b>' in page
            counts.append(int(re.search(r'<b id="visits">(\d+)</b>', page).group(1)))
    assert counts == sorted(counts) and len(set(counts)) == len(counts), counts  # every request wrote a row

    app = kamal(demo_project, sandbox, "app", "details").stdout
    for address in web_hosts:
        assert f"App Host: {address}" in app
    assert f"demo-web-{version}" in app
    accessories = kamal(demo_project, sandbox, "accessory", "details", "all").stdout
    assert "demo-db" in accessories and "demo-redis" in accessories
    proxy = kamal(demo_project, sandbox, "proxy", "details").stdout
    assert "kamal-proxy" in proxy
