"""The pre-connect hook runs once before the first connection; results print in Kamal's puts_by_host
format; the CLI's flags reach the engine as typed options (`--no-cache` all the way to the build)."""

from __future__ import annotations

import asyncio
import io

import pytest

from app.cli.kamal_output import KamalOutput
from app.engine.events import EventLog, Rows
from app.engine.runner import Run
from app.remote.pool import HostPool


def _pool(callback) -> HostPool:
    return HostPool(lambda host: None, on_first_connect=callback)  # type: ignore[arg-type, return-value]


async def test_first_connect_runs_the_callback_once_for_concurrent_callers() -> None:
    calls: list[str] = []

    async def hook() -> None:
        calls.append("start")
        await asyncio.sleep(0.01)
        calls.append("end")

    pool = _pool(hook)
    await asyncio.gather(*(pool.first_connect() for _ in range(5)))
    await pool.first_connect()
    assert calls == ["start", "end"]


async def test_a_failed_first_connect_callback_is_not_run_again() -> None:
    calls = 0

    async def hook() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("Hook `pre-connect` failed")

    pool = _pool(hook)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="pre-connect"):
            await pool.first_connect()
    assert calls == 1


def _shown(dash_q: bool, host: str | None, output, *, title: str = "App", kind: str = "app.exec") -> list[str]:
    events = EventLog()
    run = Run(config=None, secrets={}, pool=None, events=events)
    stream = io.StringIO()
    events.subscribe(KamalOutput(stream, quiet=dash_q))
    run.lines(kind, title, output, host=host)
    return stream.getvalue().split("\n")[:-1]


def test_results_print_as_kamals_header_output_and_blank_line() -> None:
    assert _shown(False, "1.1.1.1", "a\nb\n") == ["App Host: 1.1.1.1", "a", "b", ""]
    assert _shown(False, "1.1.1.1", ["x"], title="Accessory db") == ["Accessory db Host: 1.1.1.1", "x", ""]
    assert _shown(True, "1.1.1.1", "a") == ["a", ""]
    assert _shown(True, "1.1.1.1", [], title="Proxy", kind="proxy.logs") == ["Proxy Host: 1.1.1.1", "", ""]
    assert _shown(False, None, ["Acquired the deploy lock"], title="") == ["Acquired the deploy lock"]


def test_tables_print_as_the_docker_cli_aligns_them() -> None:
    events = EventLog()
    stream = io.StringIO()
    events.subscribe(KamalOutput(stream))
    events.emit(Rows(kind="app.containers", title="App", columns=("CONTAINER ID", "NAMES"),
                     rows=(("0123456789ab", "demo-web-1"),), host="h1"))
    assert stream.getvalue().splitlines() == ["App Host: h1", "CONTAINER ID   NAMES", "0123456789ab   demo-web-1", ""]


def test_no_cache_reaches_the_build(monkeypatch, tmp_path) -> None:
    """`shipdeck deploy --no-cache` → RunOptions.no_cache → build.push builds with nocache."""
    from app.cli import build_parser
    from app.cli import session as cli_session
    from app.engine import build
    from app.engine import deploy as flows

    seen: dict[str, object] = {}

    async def fake_build_with_api(run, docker, directory, *, no_cache: bool, dirty: bool = False) -> None:
        seen["no_cache"] = no_cache
        raise RuntimeError("stop after the build call")

    class FakeLocalDocker:
        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return None

        async def architecture(self) -> str:
            return "amd64"

    async def no_hook(run, name, **kwargs) -> None:
        return None

    async def same_directory(run) -> str:
        return str(tmp_path)

    monkeypatch.setattr(build, "_build_with_api", fake_build_with_api)
    monkeypatch.setattr(build, "LocalDocker", FakeLocalDocker)
    monkeypatch.setattr(build, "run_hook", no_hook)
    monkeypatch.setattr(build, "_prepare_directory", same_directory)
    captured: list[object] = []

    def run_operation(args, command, subcommand, operation, **options):
        captured.append((command, operation, cli_session.options_from(args, **options)))
        return 0

    monkeypatch.setattr("app.cli.commands.main.run_operation", run_operation)
    args = build_parser().parse_args(["deploy", "--no-cache"])
    from app.cli.commands import main as handlers

    assert handlers.deploy(args) == 0
    command, operation, options = captured[0]
    assert command == "deploy" and operation is flows.deploy and options.no_cache is True

    class Config:
        version = "v1"
        registry = type("Registry", (), {"local": False})()
        builder = type("Builder", (), {"remote": None})()

        def require_version(self) -> str:
            return "v1"

    class Pool:
        async def first_connect(self) -> None:
            return None

    monkeypatch.setattr(build, "buildx_reasons", lambda run, arch: [])
    run = Run(config=Config(), secrets={}, pool=Pool(), options=options)
    with pytest.raises(RuntimeError, match="stop after the build call"):
        asyncio.run(build.push(run))
    assert seen == {"no_cache": True}
    assert build_parser().parse_args(["deploy"]).no_cache is False


def test_version_command_prints_the_package_version(capsys) -> None:
    from app import __version__, cli

    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_a_cli_command_runs_through_the_fleet_and_reports_an_unreachable_host(tmp_path, monkeypatch, capsys) -> None:
    """`shipdeck lock status` end to end (argparse → Fleet → Run handle → exit code) against a closed port."""
    import yaml

    from app.cli import main

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump({
        "service": "app", "image": "dhh/app", "servers": {"web": ["127.0.0.1"]},
        "registry": {"username": "dhh", "password": "secret"}, "builder": {"arch": "amd64"},
        "ssh": {"port": 1, "config": False}}))
    monkeypatch.chdir(tmp_path)
    assert main(["lock", "status", "--version", "v1"]) == 1
    err = capsys.readouterr().err
    assert "shipdeck: 127.0.0.1: cannot connect to port 1" in err
