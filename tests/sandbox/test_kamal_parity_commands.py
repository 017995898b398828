"""Commands that only touch files or local state, side by side with Kamal 2.11 on the sandbox: the files
`proxy boot_config set` leaves on the hosts, what `get` prints, what `reset` removes."""

from __future__ import annotations

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, kamal, make_project, shipdeck

pytestmark = [pytest.mark.sandbox]

FILES = ("options", "image", "image_version", "run_command")


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("parity") / "demo"), job=False)
    saved = {host: _boot_files(made, host) for host in made.web_hosts()}
    yield made
    for host, files in saved.items():  # kamal-proxy is shared: leave its boot files as they were
        _restore(made, host, files)


def _boot_files(project: Project, host: str) -> dict[str, str | None]:
    found = {}
    for name in FILES:
        result = project.sandbox.run(host, f"cat .kamal/proxy/{name}", check=False)
        found[name] = result.stdout if result.returncode == 0 else None
    return found


def _restore(project: Project, host: str, files: dict[str, str | None]) -> None:
    for name, content in files.items():
        if content is None:
            project.sandbox.run(host, f"rm -f .kamal/proxy/{name}")
        else:
            project.sandbox.run(host, f"mkdir -p .kamal/proxy && cat > .kamal/proxy/{name}", input=content)


SET_ARGS = [
    ("--http-port", "8080", "--https-port", "8443", "--metrics-port", "9090", "--debug", "--image-version",
     "v0.9.2", "--registry", "registry.example.test:5000", "--publish-host-ip", "10.77.0.11",
     "--publish-host-ip", "::1", "--log-max-size", "30m", "--docker-options", "label=team=ops", "memory=512m"),
    ("--no-publish", "--repository", "mirror"),
    (),  # every value the default: every file removed
]


@pytest.mark.parametrize("args", SET_ARGS, ids=["every-option", "no-publish", "defaults"])
def test_boot_config_set_get_reset_leave_what_kamal_leaves(project: Project, args: tuple[str, ...]) -> None:
    hosts = project.web_hosts()
    kamal(project, "proxy", "boot_config", "set", *args)
    by_kamal = {host: _boot_files(project, host) for host in hosts}
    kamal_get = kamal(project, "proxy", "boot_config", "get").stdout
    kamal(project, "proxy", "boot_config", "reset")
    assert all(files == dict.fromkeys(FILES) for files in
               ({host: _boot_files(project, host) for host in hosts}).values())

    set_out = shipdeck(project, "proxy", "boot_config", "set", *args)
    assert "deprecated" in set_out.stdout + set_out.stderr
    assert {host: _boot_files(project, host) for host in hosts} == by_kamal
    shipdeck_get = shipdeck(project, "proxy", "boot_config", "get").stdout
    for host in hosts:
        line = next(line for line in kamal_get.splitlines() if f"Host {host}: " in line)
        expected = line[line.index(f"Host {host}: "):].strip()
        assert expected in shipdeck_get, (expected, shipdeck_get)
    shipdeck(project, "proxy", "boot_config", "reset")
    assert all(files == dict.fromkeys(FILES) for files in
               ({host: _boot_files(project, host) for host in hosts}).values())


def test_a_bad_publish_ip_is_refused_before_any_connection(project: Project) -> None:
    result = shipdeck(project, "proxy", "boot_config", "set", "--publish-host-ip", "not-an-ip", check=False)
    assert result.returncode == 2
    assert "Invalid publish IP address: not-an-ip" in result.stderr
    assert "Traceback" not in result.stderr
