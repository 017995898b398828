"""The public API's value types: what faces render and snapshot tests build by hand."""

from __future__ import annotations

import pytest

from app.engine import api
from app.secrets import masking


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


def _status() -> api.FleetStatus:
    up = api.HostStatus(name="10.0.0.1", state=api.ConnectionState.UP, rtt_ms=1.5, docker_version="26.1",
                        disk_free_bytes=10**9, roles=("web",))
    down = api.HostStatus(name="10.0.0.2", state=api.ConnectionState.FAILED, error="no route to host")
    apps = tuple(api.AppContainer(host=host, service="demo", destination=None, role="web",
                                  name=f"demo-web-{version}", version=version, state=state,
                                  health=api.ContainerHealth.HEALTHY)
                 for host, version, state in (("10.0.0.1", "v1", api.ContainerState.EXITED),
                                              ("10.0.0.1", "v2", api.ContainerState.RUNNING)))
    locks = (api.LockStatus(service="other", destination=None, held=True, holder="ci"),
             api.LockStatus(service="demo", destination=None, held=False))
    return api.FleetStatus(taken_at=0.0, service="demo", destination=None, hosts=(up, down), apps=apps,
                           locks=locks, deploy_version="v3")


def test_status_helpers_answer_what_a_face_asks() -> None:
    status = _status()
    assert status.host("10.0.0.2").reachable is False
    assert status.running_versions("web") == ("v2",)
    assert [app.version for app in status.apps_on("10.0.0.1")] == ["v1", "v2"]
    assert status.lock is not None and status.lock.service == "demo" and status.lock.held is False


def test_values_are_frozen() -> None:
    with pytest.raises(AttributeError):
        _status().service = "x"  # type: ignore[misc]


def test_docker_words_parse_to_enums_and_unknown_words_do_not_crash() -> None:
    assert api.ContainerState.parse("running") is api.ContainerState.RUNNING
    assert api.ContainerState.parse(None) is api.ContainerState.MISSING
    assert api.ContainerHealth.parse("weird") is api.ContainerHealth.NONE
    assert str(api.ConnectionState.HOST_KEY_UNKNOWN) == "host-key-unknown"


def test_secret_text_is_masked_in_log_lines_errors_and_results() -> None:
    masking.register("s3cr3t-value")
    line = api.LogLine(source=api.LogSourceKind.APP, host="h", container="demo-web-v1", role="web",
                       text="password=s3cr3t-value")
    assert "s3cr3t-value" not in line.text
    assert line.label == "h/web"
    assert "s3cr3t-value" not in (api.HostStatus(name="h", state=api.ConnectionState.FAILED,
                                                 error="auth s3cr3t-value").error or "")
    assert "s3cr3t-value" not in (api.RunResult(ok=False, exit_code=1, error="x s3cr3t-value").error or "")
    assert "s3cr3t-value" not in api.HostDown(at=0.0, host="h", error="s3cr3t-value").error


def test_log_sources_name_what_they_select() -> None:
    assert api.LogSource.app("web").kind is api.LogSourceKind.APP
    assert api.LogSource.accessory_of("db").accessory == "db"
    assert api.LogSource.proxy(host="h").host == "h"
