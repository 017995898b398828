"""The sandbox's self-hosted registry on :5050 speaks plain HTTP; this machine's engine does not list it as
insecure. A push there fails with Docker's "server gave HTTP response to HTTPS client", and shipdeck names
the engine and what to set where (never a password)."""

from __future__ import annotations

import pytest
import yaml

from tests.fleet import Sandbox
from tests.sandbox.engine_support import cleanup, make_project, shipdeck

pytestmark = [pytest.mark.sandbox]


def test_a_push_to_a_plain_http_registry_names_the_engine_and_the_fix(sandbox: Sandbox, tmp_path) -> None:
    registry = sandbox.self_hosted_registry
    project = make_project(sandbox, sandbox.copy_demo(tmp_path / "demo"), job=False)
    config = project.config
    config["registry"]["server"] = registry
    (project.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    project.commit("push to the self-hosted registry")
    try:
        failed = shipdeck(project, "build", "push", check=False)
        output = failed.stdout + failed.stderr
        assert failed.returncode != 0, output[-3000:]
        assert "server gave HTTP response to HTTPS client" in output, output[-3000:]
        assert "diagnosis" in output and f"{registry} speaks plain HTTP" in output, output[-3000:]
        assert "insecure-registries" in output and "daemon.json" in output, output[-3000:]
        assert sandbox.registry_password not in output
    finally:
        cleanup(project)
