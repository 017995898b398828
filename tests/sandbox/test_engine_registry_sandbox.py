"""`shipdeck registry login` on the hosts with a password full of shell metacharacters (sent on stdin)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.ops_support import kamal_in, last_host, project_on_last_host, shipdeck_in

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]

NASTY = 'p $x "q" !b \\z \'s sp ` end'


def registry_auth_entry(sandbox: Sandbox, host: str, server: str) -> str | None:
    text = sandbox.run(host, "cat .docker/config.json 2>/dev/null || echo '{}'").stdout
    return (json.loads(text).get("auths") or {}).get(server, {}).get("auth")


def test_login_with_a_nasty_password_stores_what_kamal_stores(sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)
    server = sandbox.self_hosted_registry  # plain HTTP, listed as insecure on the hosts, same htpasswd
    user = "sd" + os.urandom(3).hex()
    passwords = sandbox.root / "registries" / "htpasswd"
    subprocess.run(["htpasswd", "-B", "-i", str(passwords), user], input=NASTY, text=True, check=True,
                   capture_output=True)
    project = project_on_last_host(sandbox, tmp_path / "p", extra={
        "registry": {"server": server, "username": user, "password": ["KAMAL_REGISTRY_PASSWORD"]}})
    env = {"KAMAL_REGISTRY_PASSWORD": NASTY}
    try:
        shipdeck_in(project, "registry", "login", "-L", "-h", host, env=env)
        stored = registry_auth_entry(sandbox, host, server)
        assert stored is not None and base64.b64decode(stored).decode() == f"{user}:{NASTY}"

        shipdeck_in(project, "registry", "logout", "-L", "-h", host, env=env)
        assert registry_auth_entry(sandbox, host, server) is None

        kamal_in(project, "registry", "login", "-L", "-h", host, env=env)
        assert registry_auth_entry(sandbox, host, server) == stored

        wrong = shipdeck_in(project, "registry", "login", "-L", "-h", host, env={"KAMAL_REGISTRY_PASSWORD": "nope"},
                            check=False)
        assert wrong.returncode == 1 and "401 Unauthorized" in wrong.stdout + wrong.stderr
        assert "nope" not in wrong.stdout + wrong.stderr.replace("KAMAL_REGISTRY_PASSWORD", "")
    finally:
        sandbox.run(host, f"docker logout {server} >/dev/null 2>&1; true", check=False)
        subprocess.run(["htpasswd", "-D", str(passwords), user], capture_output=True, check=False)
