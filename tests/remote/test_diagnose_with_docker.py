"""What the diagnoses claim about Docker, checked against this machine's real engine.

- A secret delivered through Kamal's env file (`docker run --env-file`) arrives exactly as
  `env_delivery.received_value` says: backslashes doubled, line breaks as `\\n`.
- A plain-HTTP registry on a non-loopback address gives the engine's real error, which the registry
  recogniser turns into its finding.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from pathlib import Path

import yaml

from app import contract
from app.config import load_config
from app.diagnose.env_delivery import delivery, received_value
from app.diagnose.findings import LOCAL
from app.diagnose.registry_http import PLAIN_HTTP, recognise_plain_http_registry
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker

test_image = fixtures.test_image
run_id = fixtures.run_id

VALUES = {
    "BACKSLASH": "pa\\ss",
    "PEM": "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----",
    "TAB_CR": "a\tb\rc",
    "QUOTES_HASH": 'say "hi" #{there} $HOME `x`',
    "UNICODE": "café\u2028ünïcode",
    "CONTROL": "bell\u0007end",
}


def test_containers_receive_what_received_value_predicts(test_image: str, tmp_path: Path) -> None:
    env_file = tmp_path / "web.env"
    env_file.write_text(contract.env_file_content(VALUES))
    script = "; ".join(f'printf "%s" "${name}" | od -An -tx1 | tr -d " \\n"; echo' for name in VALUES)
    result = docker("run", "--rm", "--env-file", str(env_file), test_image, "/bin/sh", "-c", script)
    seen = [bytes.fromhex(line).decode() for line in result.stdout.splitlines()]
    assert seen == [received_value(value) for value in VALUES.values()]
    assert seen[0] == "pa\\\\ss" and seen[1].count("\\n") == 3 and "\n" not in seen[1]
    assert delivery(VALUES["QUOTES_HASH"]).changed is False  # quotes, #{ and $ pass unchanged
    assert seen[3] == VALUES["QUOTES_HASH"]


def _bridge_gateway() -> str:
    """This machine's address on docker's default bridge (the subnet's first host unless a gateway is set)."""
    ipam = json.loads(docker("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]
    return ipam.get("Gateway") or str(ipaddress.ip_network(ipam["Subnet"])[1])


def test_plain_http_registry_error_from_the_engine_is_recognised(tmp_path: Path, run_id: str) -> None:
    address = f"{_bridge_gateway()}:{fixtures._free_port()}"  # not loopback: the engine insists on HTTPS
    (tmp_path / "config.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"http: {{addr: {address}}}\n")
    registry = subprocess.Popen(["docker-registry", "serve", str(tmp_path / "config.yml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        host, port = address.rsplit(":", 1)
        deadline = time.monotonic() + 10
        while subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True).returncode:
            assert time.monotonic() < deadline, "the registry did not listen"
            time.sleep(0.1)
        pull = docker("pull", f"{address}/{run_id}/app:1", check=False)
    finally:
        registry.terminate()
        registry.wait(timeout=10)
    assert pull.returncode != 0 and PLAIN_HTTP in pull.stderr

    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "deploy.yml").write_text(yaml.safe_dump({
        "service": "app", "image": "group/app", "servers": ["web1"], "builder": {"arch": "amd64"},
        "registry": {"server": address, "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]}}))
    config = load_config(cwd=str(project), environ={"PATH": "/usr/bin:/bin"}, version="v1")

    on_host = recognise_plain_http_registry(pull.stderr, config=config, engine="web1", during="pull")
    assert on_host is not None and on_host.code == "registry.plain_http" and on_host.host == "web1"
    assert on_host.target == address
    assert f'"insecure-registries": ["{address}"]' in on_host.fix and f"/etc/docker/certs.d/{address}/ca.crt" in \
        on_host.fix
    assert on_host.evidence and PLAIN_HTTP in on_host.evidence[-1]
    local = recognise_plain_http_registry(pull.stderr, config=config, engine=LOCAL, during="push", environ={})
    assert local is not None and "the local docker engine" in local.title and "daemon.json" in local.fix
