"""The pre-connect hook runs once per run before the first connection; Kamal's puts_by_host format."""

from __future__ import annotations

import asyncio

import pytest

from app.engine.events import EventLog, Notice
from app.engine.runner import Run, RunOptions
from app.engine.session import puts_by_host
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


def _shown(dash_q: bool, *args, **kwargs) -> list[str]:
    events = EventLog()
    run = Run(config=None, secrets={}, pool=None, events=events, options=RunOptions(quiet=dash_q))
    puts_by_host(run, *args, **kwargs)
    return [event.message for event in events.events if isinstance(event, Notice)]


def test_puts_by_host_is_kamals_header_output_and_blank_line() -> None:
    assert _shown(False, "1.1.1.1", "a\nb\n") == ["App Host: 1.1.1.1", "a", "b", ""]
    assert _shown(False, "1.1.1.1", ["x"], type="Accessory db") == ["Accessory db Host: 1.1.1.1", "x", ""]
    assert _shown(True, "1.1.1.1", "a") == ["a", ""]
    assert _shown(True, "1.1.1.1", [], type="Proxy", quiet=False) == ["Proxy Host: 1.1.1.1", "", ""]


def test_version_command_prints_the_package_version(capsys) -> None:
    from app import __version__, cli

    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__
