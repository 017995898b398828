"""A deploy whose new container never passes kamal-proxy's health check ends with the likely cause, read
from the container's own lines (here: the configured path answers 404), and the old version keeps serving."""

from __future__ import annotations

import pytest
import yaml

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, get, kamal, make_project, pushed_and_deployed, shipdeck

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture
def project(sandbox: Sandbox, tmp_path) -> Project:
    made = make_project(sandbox, sandbox.copy_demo(tmp_path / "demo"), job=False, extra={"deploy_timeout": 6})
    with pushed_and_deployed(made) as deployed:
        yield deployed


def test_a_health_check_path_that_answers_404_is_named_as_the_cause(project: Project) -> None:
    serving = project.version()
    config = project.config
    config["proxy"].setdefault("healthcheck", {})["path"] = "/no-such-page"
    (project.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    new = project.commit("a health check path the app does not have")
    kamal(project, "build", "push")
    failed = shipdeck(project, "deploy", "-P", check=False)
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output[-4000:]
    assert "diagnosis" in output and "did not become healthy" in output, output[-4000:]
    assert "the app answers /no-such-page with 404" in output, output[-4000:]  # the recognised cause
    host = project.web_hosts()[0]
    status, body = get(host, project.proxy_host, "/version")
    assert status == 200 and body.strip() == serving and new != serving  # the previous version still serves
