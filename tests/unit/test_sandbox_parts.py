"""Fast checks of the sandbox's pure parts: the buildx stand-in, image names, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import UsageError
from app.sandbox import buildx_plugin, fleet, layout, machine_engine, system
from app.sandbox.mirror import hub_repository, mirror_reference

KAMAL_BUILD = ["--output=type=registry", "--platform", "linux/amd64", "--builder", "kamal-local-docker-container",
               "-t", "10.77.0.1:5000/demo/app:abc", "-t", "10.77.0.1:5000/demo/app:latest",
               "--label", "service=demo", "--build-arg", "RAILS_ENV=production", "--file", "Dockerfile", "."]


def test_buildx_standin_turns_kamals_build_into_a_classic_build_and_pushes() -> None:
    build, pushes = buildx_plugin.plan_build(KAMAL_BUILD, "linux/amd64")
    assert build == ["docker", "build", "-t", "10.77.0.1:5000/demo/app:abc", "-t", "10.77.0.1:5000/demo/app:latest",
                     "--label", "service=demo", "--build-arg", "RAILS_ENV=production", "--file", "Dockerfile", "."]
    assert pushes == ["10.77.0.1:5000/demo/app:abc", "10.77.0.1:5000/demo/app:latest"]


def test_buildx_standin_loads_without_pushing_for_type_docker() -> None:
    _, pushes = buildx_plugin.plan_build(["--output=type=docker", "-t", "app:dirty", "."], "linux/amd64")
    assert pushes == []


@pytest.mark.parametrize(("args", "message"), [
    (["--platform", "linux/arm64", "-t", "a", "."], "linux/arm64"),
    (["--secret", "id=KEY", "-t", "a", "."], "build secrets"),
    (["--output=type=registry", "."], "at least one -t"),
    (["-t", "a"], "exactly 1 argument"),
])
def test_buildx_standin_refuses_what_the_classic_builder_cannot_do(args: list[str], message: str) -> None:
    with pytest.raises(buildx_plugin.StandInError, match=message):
        buildx_plugin.plan_build(args, "linux/amd64")


def test_buildx_standin_answers_the_plugin_protocol_and_remembers_builders(tmp_path: Path) -> None:
    script = Path(buildx_plugin.__file__)
    env = {"DOCKER_CONFIG": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def plugin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                              check=False)

    metadata = json.loads(plugin("docker-cli-plugin-metadata").stdout)
    assert metadata["SchemaVersion"] == "0.1.0" and "Stand-in" in metadata["ShortDescription"]
    assert plugin("buildx", "version").stdout.startswith("github.com/docker/buildx ")
    missing = plugin("buildx", "inspect", "kamal-local-docker-container")
    assert missing.returncode == 1 and 'no builder "kamal-local-docker-container"' in missing.stderr
    assert plugin("buildx", "create", "--name", "kamal-local-docker-container", "--driver=docker-container").stdout \
        .strip() == "kamal-local-docker-container"
    assert "Driver:        docker-container" in plugin("buildx", "inspect", "kamal-local-docker-container").stdout
    assert plugin("buildx", "rm", "kamal-local-docker-container").returncode == 0
    assert plugin("buildx", "inspect", "kamal-local-docker-container").returncode == 1


@pytest.mark.parametrize(("name", "repository", "tag"), [
    ("postgres:15", "library/postgres", "15"),
    ("basecamp/kamal-proxy:v0.9.2", "basecamp/kamal-proxy", "v0.9.2"),
    ("redis", "library/redis", "latest"),
])
def test_hub_names_map_to_mirror_repositories(name: str, repository: str, tag: str) -> None:
    assert hub_repository(name) == (repository, tag)
    assert mirror_reference(name) == f"127.0.0.1:{layout.MIRROR_REGISTRY_PORT}/{repository}:{tag}"


@pytest.mark.parametrize("path", ["/tmp/sbx", "/root/sandbox", "/run/x", "/var/run/x"])
def test_sandbox_dir_cannot_be_where_hosts_have_their_own_dirs(path: str) -> None:
    with pytest.raises(UsageError, match="cannot be under"):
        fleet.check_root_dir(Path(path))


def test_sandbox_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(UsageError, match="needs root") as caught:
        system.require_root_linux()
    assert caught.value.exit_code == 2


def test_sandbox_refuses_outside_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.sys, "platform", "darwin")
    with pytest.raises(UsageError, match="needs Linux"):
        system.require_root_linux()


def test_cli_refusal_is_one_line_with_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from app.cli import main

    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    assert main(["sandbox", "up", "--hosts", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


def test_machine_engine_is_started_when_none_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[list[str]] = []
    answering = {"now": False}
    monkeypatch.setattr(machine_engine, "answers", lambda: answering["now"])

    def fake_spawn(argv: list[str], log_path: Path, *, env: dict[str, str] | None = None) -> int:
        started.append(list(argv))
        answering["now"] = True
        return 4242

    monkeypatch.setattr(machine_engine, "spawn_daemon", fake_spawn)
    lines: list[str] = []
    machine_engine.ensure_machine_engine(lines.append)
    assert started == [["dockerd"]]
    assert "started dockerd (pid 4242" in lines[0]
    machine_engine.ensure_machine_engine(lines.append)  # answers now: nothing more is started
    assert len(started) == 1
