"""Local registry (`registry.server: localhost:<port>`): Kamal's commands, the container decisions,
the SSH reverse forward held around the pulls, and the refused login/logout."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from app.config import load_config
from app.engine import build, local_registry
from app.engine.commands import registry as registry_command
from app.engine.options import RegistryOptions
from app.errors import UsageError
from app.remote.local_docker import LocalContainerError


def make_config(tmp_path: Path, registry: dict | None = None, builder: dict | None = None):
    config = {"service": "app", "servers": ["1.1.1.1", "2.2.2.2"],
              "registry": registry or {"server": "localhost:5555"}, "builder": builder or {"arch": "amd64"}}
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="123")


class FakeRun:
    """Records steps, notices and output like the runner's events."""

    def __init__(self, config) -> None:
        self.config = config
        self.events: list[tuple[str, str]] = []
        self.targets = None

    @contextlib.asynccontextmanager
    async def step(self, step: str, title: str, host: str | None = None):
        self.events.append(("step", title))
        yield

    def output(self, step: str, line: str, **_kw) -> None:
        self.events.append(("output", line))

    def notice(self, text: str, **_kw) -> None:
        self.events.append(("notice", text))

    def host(self, name: str) -> str:
        return name


# -- names and commands --------------------------------------------------------------------------

def test_commands_are_kamals() -> None:
    assert local_registry.setup_command(5555) == (
        "docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5555:5000 "
        "--name kamal-docker-registry registry:3")
    assert local_registry.remove_command() == "docker stop kamal-docker-registry && docker rm kamal-docker-registry"


def test_local_registry_config_defaults_the_image_to_the_service(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert config.registry.local and config.registry.local_port == 5555
    assert config.absolute_image == "localhost:5555/app:123"
    assert build.builder_name(SimpleNamespace(config=config)) == "kamal-local-registry-docker-container"


@pytest.mark.parametrize(("image", "port"), [
    ("localhost:5555/app:1", 5555), ("localhost:80/x/y:latest", 80),
    ("registry.example.com/app:1", None), ("postgres:16", None), ("localhost/app:1", None), (None, None)])
def test_image_port(image: str | None, port: int | None) -> None:
    assert local_registry.image_port(image) == port


def test_an_existing_container_on_another_port_is_named() -> None:
    state = {"HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}]}}}
    assert local_registry.published_port(state) == 5000
    assert local_registry.port_mismatch(state, 5000) is None
    problem = local_registry.port_mismatch(state, 5555)
    assert problem and "publishes 127.0.0.1:5000, not 127.0.0.1:5555" in problem
    assert "shipdeck registry remove" in problem
    assert local_registry.port_mismatch({}, 5555) is None


# -- the registry container ----------------------------------------------------------------------

class FakeDocker:
    def __init__(self, state: dict | None, fail_start: str | None = None) -> None:
        self.state = state
        self.fail_start = fail_start
        self.calls: list[tuple] = []

    async def container_state(self, name: str):
        self.calls.append(("inspect", name))
        return self.state

    async def start_container(self, name: str) -> None:
        self.calls.append(("start", name))
        if self.fail_start:
            raise LocalContainerError(self.fail_start)

    async def run_detached(self, name: str, image: str, *, publish) -> None:
        self.calls.append(("run", name, image, dict(publish)))


def test_start_runs_a_new_registry_published_on_loopback(tmp_path: Path) -> None:
    docker = FakeDocker(None)
    assert asyncio.run(local_registry.start(FakeRun(make_config(tmp_path)), docker)) == "ran"
    assert docker.calls[-1] == ("run", "kamal-docker-registry", "registry:3", {"5000/tcp": ("127.0.0.1", 5555)})


def test_start_starts_an_existing_registry(tmp_path: Path) -> None:
    state = {"HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5555"}]}}}
    docker = FakeDocker(state)
    assert asyncio.run(local_registry.start(FakeRun(make_config(tmp_path)), docker)) == "started"
    assert ("start", "kamal-docker-registry") in docker.calls
    assert not any(call[0] == "run" for call in docker.calls)


def test_start_refuses_a_registry_on_another_port(tmp_path: Path) -> None:
    state = {"HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "6000"}]}}}
    docker = FakeDocker(state)
    with pytest.raises(local_registry.LocalRegistryError, match=r"publishes 127\.0\.0\.1:6000"):
        asyncio.run(local_registry.start(FakeRun(make_config(tmp_path)), docker))
    assert ("start", "kamal-docker-registry") not in docker.calls


def test_a_port_taken_locally_is_reported(tmp_path: Path) -> None:
    state = {"HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5555"}]}}}
    docker = FakeDocker(state, fail_start="Bind for 127.0.0.1:5555 failed: port is already allocated")
    with pytest.raises(local_registry.LocalRegistryError) as raised:
        asyncio.run(local_registry.start(FakeRun(make_config(tmp_path)), docker))
    assert "Cannot start the local registry on 127.0.0.1:5555" in str(raised.value)
    assert "port is already allocated" in str(raised.value)


# -- the forward ---------------------------------------------------------------------------------

class FakeForwards:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.open: list[tuple[str, int]] = []
        self.log: list[str] = []
        self.refuse = refuse or set()

    @contextlib.asynccontextmanager
    async def __call__(self, host: str, port: int):
        if host in self.refuse:
            raise RuntimeError(f"{host}: port {port} is already in use on the server")
        self.open.append((host, port))
        self.log.append(f"open {host}:{port}")
        try:
            yield
        finally:
            self.open.remove((host, port))
            self.log.append(f"close {host}:{port}")


def test_forwarded_holds_every_host_open_for_the_block(tmp_path: Path, monkeypatch) -> None:
    forwards = FakeForwards()
    monkeypatch.setattr(local_registry, "reverse_forward", forwards)
    run = FakeRun(make_config(tmp_path))
    seen: list = []

    async def body() -> None:
        async with local_registry.forwarded(run, ["h1", "h2", "h1"], 5555):
            seen.extend(sorted(forwards.open))

    asyncio.run(body())
    assert seen == [("h1", 5555), ("h2", 5555)]
    assert forwards.open == []
    assert ("notice", "Setting up local registry port forwarding to h1, h2...") in run.events


def test_a_refused_forward_names_the_host_and_closes_the_others(tmp_path: Path, monkeypatch) -> None:
    forwards = FakeForwards(refuse={"h2"})
    monkeypatch.setattr(local_registry, "reverse_forward", forwards)
    run = FakeRun(make_config(tmp_path))

    async def body() -> None:
        async with local_registry.forwarded(run, ["h1", "h2"], 5555):
            raise AssertionError("the block must not run")

    with pytest.raises(local_registry.LocalRegistryError, match="h2: port 5555 is already in use"):
        asyncio.run(body())
    assert forwards.open == []


def test_images_outside_a_local_registry_open_no_forward(tmp_path: Path, monkeypatch) -> None:
    forwards = FakeForwards()
    monkeypatch.setattr(local_registry, "reverse_forward", forwards)
    run = FakeRun(make_config(tmp_path))

    async def body() -> None:
        async with local_registry.for_image(run, "h1", "postgres:16"):
            pass
        async with local_registry.for_image(run, "h1", "localhost:6000/tools/db:1"):
            assert forwards.open == [("h1", 6000)]

    asyncio.run(body())
    assert forwards.log == ["open h1:6000", "close h1:6000"]


def test_build_pull_pulls_inside_the_forward_and_logs_in_nowhere(tmp_path: Path, monkeypatch) -> None:
    forwards = FakeForwards()
    monkeypatch.setattr(local_registry, "reverse_forward", forwards)
    run = FakeRun(make_config(tmp_path))
    pulled: list[tuple[str, list]] = []

    async def on_hosts(hosts, function):
        return {host: await function(host) for host in hosts}

    async def pull_on_host(_run, host: str) -> None:
        pulled.append((host, sorted(forwards.open)))

    async def no_mirrors(_run, _hosts):
        return []

    async def login_on_host(*_args, **_kw):
        raise AssertionError("no docker login with a local registry")

    run.on_hosts = on_hosts
    monkeypatch.setattr(build, "pull_on_host", pull_on_host)
    monkeypatch.setattr(build, "_mirror_hosts", no_mirrors)
    monkeypatch.setattr(build.registry_ops, "login_on_host", login_on_host)
    asyncio.run(build.pull(run))
    both = [("1.1.1.1", 5555), ("2.2.2.2", 5555)]
    assert pulled == [("1.1.1.1", both), ("2.2.2.2", both)]
    assert forwards.open == []
    assert not any(kind == "step" and "Logging in" in title for kind, title in run.events)


def test_push_with_a_remote_builder_and_a_local_registry_is_refused_clearly(tmp_path: Path, monkeypatch) -> None:
    config = make_config(tmp_path, builder={"arch": "amd64", "remote": "ssh://root@builder"})

    class Docker:
        async def __aenter__(self):
            return self

        async def __aexit__(self, *_exc):
            return None

        async def architecture(self) -> str:
            return "amd64"

    async def first_connect() -> None:
        return None

    run = FakeRun(config)
    run.options = SimpleNamespace(no_cache=False)
    run.pool = SimpleNamespace(first_connect=first_connect)
    monkeypatch.setattr(build, "LocalDocker", Docker)
    with pytest.raises(build.BuildError, match=r"remote builder .* with a local registry"):
        asyncio.run(build.push(run))


# -- registry commands ---------------------------------------------------------------------------

@pytest.mark.parametrize(("command", "message"), [
    ("login", "Cannot use login command with a local registry. Use `kamal registry setup` instead."),
    ("logout", "Cannot use logout command with a local registry. Use `kamal registry remove` instead.")])
def test_login_and_logout_refuse_a_local_registry(tmp_path: Path, command: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        asyncio.run(getattr(registry_command, command)(FakeRun(make_config(tmp_path)), RegistryOptions()))
    assert str(raised.value) == message


def test_setup_and_remove_drive_the_local_container(tmp_path: Path, monkeypatch) -> None:
    calls: list[str] = []

    async def start(_run) -> str:
        calls.append("start")
        return "ran"

    async def remove(_run) -> bool:
        calls.append("remove")
        return True

    monkeypatch.setattr(local_registry, "start", start)
    monkeypatch.setattr(local_registry, "remove", remove)
    run = FakeRun(make_config(tmp_path))
    asyncio.run(registry_command.setup(run, RegistryOptions()))
    asyncio.run(registry_command.remove(run, RegistryOptions()))
    asyncio.run(registry_command.setup(run, RegistryOptions(skip_local=True)))
    assert calls == ["start", "remove"]
