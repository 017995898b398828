"""`shipdeck proxy ...` on the sandbox's last host (where the shared demo runs no proxy), next to Kamal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import cleanup, kamal, shipdeck
from tests.sandbox.ops_support import audit_lines, diff, last_host, normalised_inspect, project_on_last_host

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]

FLAG = "--confirm=proxy.reboot:kamal-proxy"


def proxy_image_and_id(sandbox: Sandbox, host: str) -> tuple[str, str]:
    out = sandbox.run(host, "docker inspect -f '{{.Config.Image}} {{.Id}}' kamal-proxy", check=False).stdout.split()
    return (out[0], out[1]) if len(out) == 2 else ("", "")


def test_proxy_too_old_reboot_confirmation_and_kamal_interplay(sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)
    project = project_on_last_host(sandbox, tmp_path / "p")
    try:
        sandbox.run(host, "docker network create kamal >/dev/null 2>&1; docker rm -f kamal-proxy >/dev/null 2>&1; "
                          "docker run --detach --name kamal-proxy --network kamal basecamp/kamal-proxy:v0.8.4")
        old = proxy_image_and_id(sandbox, host)
        too_old = shipdeck(project, "proxy", "boot", check=False)
        assert too_old.returncode == 1
        assert ("kamal-proxy version v0.8.4 is too old, run `kamal proxy reboot` in order to update to at least "
                "v0.9.2") in too_old.stdout + too_old.stderr
        assert proxy_image_and_id(sandbox, host) == old

        refused = shipdeck(project, "proxy", "reboot", check=False)
        assert refused.returncode == 2
        assert FLAG in refused.stdout + refused.stderr
        assert proxy_image_and_id(sandbox, host) == old  # nothing changed

        shipdeck(project, "proxy", "reboot", FLAG)
        image, rebooted = proxy_image_and_id(sandbox, host)
        assert image == "basecamp/kamal-proxy:v0.9.2" and rebooted != old[1]
        assert audit_lines(sandbox, host, project.service)[-1] == "Rebooted proxy"
        by_shipdeck = normalised_inspect(sandbox, host, "kamal-proxy")

        details = kamal(project, "proxy", "details").stdout
        assert "kamal-proxy" in details and "Up " in details
        shipdeck(project, "proxy", "boot")  # a running, current proxy is left alone
        assert proxy_image_and_id(sandbox, host)[1] == rebooted

        kamal(project, "proxy", "reboot", "-y")
        difference = diff(normalised_inspect(sandbox, host, "kamal-proxy"), by_shipdeck)
        assert difference == "", difference

        shipdeck(project, "proxy", "stop")
        assert sandbox.run(host, "docker inspect -f '{{.State.Running}}' kamal-proxy").stdout.strip() == "false"
        shipdeck(project, "proxy", "start")
        assert sandbox.run(host, "docker inspect -f '{{.State.Running}}' kamal-proxy").stdout.strip() == "true"
        assert audit_lines(sandbox, host, project.service)[-2:] == ["Stopped proxy", "Started proxy"]
        assert "kamal-proxy" in shipdeck(project, "proxy", "details").stdout
    finally:
        cleanup(project)
        image, _ = proxy_image_and_id(sandbox, host)
        if image != "basecamp/kamal-proxy:v0.9.2":
            kamal(project, "proxy", "reboot", "-y", check=False)
        sandbox.run(host, "docker start kamal-proxy >/dev/null 2>&1; true", check=False)
