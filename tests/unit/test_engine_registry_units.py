"""Registry login: the password goes on stdin, never into a command line."""

from __future__ import annotations

import asyncio
import base64
import json
from types import SimpleNamespace

from app.config.model import Registry
from app.engine import registry_ops
from app.remote.docker_ops import RegistryAuth, image_registry

NASTY = 'p $x "q" !b \\z \'s sp ${HOME} `id`'


class FakeSFTP:
    def __init__(self) -> None:
        self.directories: dict[str, int] = {}

    async def exists(self, path: str) -> bool:
        return path in self.directories

    async def mkdir(self, path: str) -> None:
        self.directories[path] = 0o755

    async def chmod(self, path: str, mode: int) -> None:
        self.directories[path] = mode


class FakeHost:
    """Records shell commands (with their stdin) and files written over SFTP."""

    def __init__(self, docker_config: bytes | None = None) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.files: dict[str, tuple[bytes, int]] = {}
        if docker_config is not None:
            self.files[".docker/config.json"] = (docker_config, 0o600)
        self._sftp = FakeSFTP()

    async def run(self, command: str, *, input: str | None = None, check: bool = True):
        self.calls.append((command, input))
        return SimpleNamespace(ok=True, exit_status=0, stdout="Login Succeeded\n", stderr="")

    async def read_file_and_mode(self, path: str) -> tuple[bytes, int] | None:
        return self.files.get(path)

    async def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        self.files[path] = (data, mode)

    async def sftp(self) -> FakeSFTP:
        return self._sftp


def fake_run(registry: Registry, secrets: dict[str, str],
             docker_config: bytes | None = None) -> tuple[SimpleNamespace, FakeHost]:
    host = FakeHost(docker_config)
    run = SimpleNamespace(config=SimpleNamespace(registry=registry), secrets=secrets, host=lambda name: host)
    return run, host


def test_login_on_host_sends_the_password_on_stdin_only() -> None:
    """With a credential store on the host, the docker CLI logs in; the password goes to its stdin."""
    registry = Registry(server="10.0.0.1:5000", username="deploy bot", password="REGISTRY_PASSWORD",
                        password_is_secret=True)
    run, host = fake_run(registry, {"REGISTRY_PASSWORD": NASTY}, docker_config=b'{"credsStore": "pass"}')
    assert asyncio.run(registry_ops.login_on_host(run, "h1")) is True
    assert host.calls == [('docker login 10.0.0.1:5000 -u "deploy bot" --password-stdin', NASTY)]
    assert all(NASTY not in command for command, _ in host.calls)


def test_login_records_what_docker_login_writes_without_a_command() -> None:
    registry = Registry(server="10.0.0.1:5000", username="deploy bot", password="REGISTRY_PASSWORD",
                        password_is_secret=True)
    run, host = fake_run(registry, {"REGISTRY_PASSWORD": NASTY},
                         docker_config=b'{\n\t"auths": {\n\t\t"other:5000": {\n\t\t\t"auth": "eDp5"\n\t\t}\n\t}\n}')
    assert asyncio.run(registry_ops.login_on_host(run, "h1")) is True
    assert host.calls == []
    content, mode = host.files[".docker/config.json"]
    config = json.loads(content)
    assert mode == 0o600
    assert config["auths"]["other:5000"] == {"auth": "eDp5"}  # other registries are kept
    token = config["auths"]["10.0.0.1:5000"]["auth"]
    assert base64.b64decode(token).decode() == f"deploy bot:{NASTY}"
    assert content.decode().startswith('{\n\t"auths": {')  # the docker CLI's tab-indented layout


def test_explicit_login_always_asks_the_registry_through_the_cli() -> None:
    registry = Registry(server="r", username="u", password="p")
    run, host = fake_run(registry, {})
    asyncio.run(registry_ops.login_on_host(run, "h1", force=True))
    assert host.calls == [("docker login r -u \"u\" --password-stdin", "p")]


def test_login_happens_once_per_host_and_registry_unless_forced() -> None:
    registry = Registry(server="r", username="u", password="p")
    run, host = fake_run(registry, {}, docker_config=b'{"credsStore": "pass"}')
    asyncio.run(registry_ops.login_on_host(run, "h1"))
    asyncio.run(registry_ops.login_on_host(run, "h1"))
    assert len(host.calls) == 1
    asyncio.run(registry_ops.login_on_host(run, "h1", force=True))
    assert len(host.calls) == 2


def test_local_registries_need_no_login() -> None:
    run, host = fake_run(Registry(server="localhost:5555"), {})
    assert asyncio.run(registry_ops.login_on_host(run, "h1")) is False
    assert host.calls == []


def test_shown_login_command_has_no_secret() -> None:
    assert registry_ops.kamal_login_command(Registry(server="r.example.com", username="u", password="p")) == \
        "docker login r.example.com -u [REDACTED] -p [REDACTED]"


def test_registry_auth_header_carries_the_exact_password() -> None:
    header = RegistryAuth("10.0.0.1:5000", "u", NASTY).header()
    decoded = json.loads(base64.urlsafe_b64decode(header))
    assert decoded == {"username": "u", "password": NASTY, "serveraddress": "10.0.0.1:5000"}


def test_image_registry_follows_the_docker_cli() -> None:
    assert image_registry("10.0.0.1:5000/app/web:1") == "10.0.0.1:5000"
    assert image_registry("basecamp/kamal-proxy:v0.9.2") is None
    assert image_registry("postgres:15") is None
    assert image_registry("docker.io/library/redis:7") is None
    assert image_registry("localhost/app:1") == "localhost"
