"""The Fleet API's parts without a network: run handles (events, cancel, result), status parsing,
Docker events as typed changes, log timestamps and resume cursors, and the boot's rename undo."""

from __future__ import annotations

import asyncio

import pytest

from app.engine import api
from app.engine.events import EventLog, Output, RunFinished, RunStarted, StepFinished, StepStarted
from app.engine.handle import RunHandle
from app.engine.logs import Cursor, split_timestamp
from app.engine.runner import Run
from app.engine.status import accessory_name, app_identity, parse_lock, parse_proxy_list, parse_time
from app.engine.watch import change_from_event


class _Config:
    version = "v1"


def _context(capacity: int = 100) -> Run:
    context = Run(config=_Config(), secrets={}, pool=None, events=EventLog(capacity), command="deploy")
    context.targets = None
    context.target_hosts = lambda: ["h1"]  # type: ignore[method-assign]
    return context


async def test_a_run_handle_streams_its_events_and_ends_with_its_result() -> None:
    async def operation(run: Run) -> None:
        async with run.step("app.boot", "Boot", host="h1", role="web"):
            run.output("app.boot", "hello", host="h1")
        async with run.step("app.boot", "Boot", host="h1", role="worker"):
            pass

    handle = RunHandle(_context(), operation)
    assert isinstance(handle, api.Run)
    events = [event async for event in handle]
    result = await handle.result()
    assert result.ok and result.exit_code == 0 and handle.done
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    started = [event for event in events if isinstance(event, StepStarted)]
    assert [event.role for event in started] == ["web", "worker"]
    assert started[0].step_id != started[1].step_id  # two roles, same step, same host: apart
    line = next(event for event in events if isinstance(event, Output))
    assert (line.step_id, line.role) == (started[0].step_id, "web")
    finished = [event for event in events if isinstance(event, StepFinished)]
    assert [event.step_id for event in finished] == [event.step_id for event in started]
    # A late iteration replays what the ring kept.
    assert [type(event) for event in [event async for event in handle]] == [type(event) for event in events]


async def test_cancel_stops_the_operation_and_runs_its_finally_blocks() -> None:
    cleaned: list[str] = []
    entered = asyncio.Event()

    async def operation(run: Run) -> None:
        try:
            entered.set()
            await asyncio.sleep(60)
        finally:
            cleaned.append("lock released")

    handle = RunHandle(_context(), operation)
    await entered.wait()
    handle.cancel("interrupted by SIGTERM")
    result = await handle.result()
    assert result.cancelled and result.exit_code == 130 and result.error == "interrupted by SIGTERM"
    assert cleaned == ["lock released"]
    last = [event async for event in handle][-1]
    assert isinstance(last, RunFinished) and last.ok is False


async def test_an_operation_error_becomes_the_result_not_an_exception() -> None:
    from app.errors import UsageError

    async def operation(run: Run) -> None:
        raise UsageError("No accessory by the name of 'x'")

    result = await RunHandle(_context(), operation).result()
    assert (result.ok, result.exit_code, result.error) == (False, 2, "No accessory by the name of 'x'")


def test_kamal_proxy_list_is_parsed_by_its_header_columns() -> None:
    output = ("Service        Host             Path  Target             State    TLS\n"
              "demo-web       demo.test        /     0123abcd4567:80    running  no\n"
              "other-web      a.test,b.test    /api  89ab:3000          paused   yes\n")
    routes = parse_proxy_list(output)
    assert routes[0] == api.ProxyRoute(service="demo-web", hosts=("demo.test",), path="/", target="0123abcd4567:80",
                                       state="running", tls=False)
    assert routes[1].hosts == ("a.test", "b.test") and routes[1].tls and routes[1].state == "paused"
    assert parse_proxy_list("") == ()
    assert parse_proxy_list("\x1b[1m" + output.replace("\n", "\x1b[0m\n", 1))[0].service == "demo-web"


def test_kamals_lock_details_parse_into_holder_time_version_message() -> None:
    details = "Locked by: Ann Operator at 2024-05-01T10:00:00Z\nVersion: abc123\nMessage: Fixing the db\nsecond line"
    now = parse_time("2024-05-01T10:01:30Z")
    lock = parse_lock(details, service="demo", destination=None, host="h1", now=now)
    assert (lock.holder, lock.version, lock.message) == ("Ann Operator", "abc123", "Fixing the db\nsecond line")
    assert lock.age_s == pytest.approx(90.0)
    assert lock.held and lock.details == details


def test_docker_times_keep_their_fraction() -> None:
    assert parse_time("2024-05-01T10:00:00.250000000Z") == pytest.approx(parse_time("2024-05-01T10:00:00Z") + 0.25)
    assert parse_time("not a time") is None


def test_containers_are_told_apart_by_kamals_labels() -> None:
    labels = {"service": "demo", "role": "web", "destination": ""}
    identity = app_identity("demo-web-abc123", labels)
    assert (identity.service, identity.role, identity.version, identity.destination) == ("demo", "web", "abc123", None)
    assert app_identity("demo-web-abc123", labels, "other", None) is None
    staging = app_identity("demo-web-staging-v2", {**labels, "destination": "staging"}, "demo", "staging")
    assert staging.version == "v2"
    assert accessory_name("demo-db", {"service": "demo-db"}, ["demo"]) == "db"
    assert accessory_name("demo-db", {"service": "demo-db"}, [], {"demo-db": "db"}) == "db"
    assert accessory_name("random", {}, ["demo"]) is None


def _event(action: str, name: str, **attributes: str) -> dict:
    return {"Type": "container", "Action": action, "timeNano": 1_700_000_000_500_000_000,
            "Actor": {"ID": "0123456789abcdef", "Attributes": {"name": name, **attributes}}}


def test_docker_events_become_typed_changes() -> None:
    app = {"service": "demo", "role": "web", "destination": ""}
    started = change_from_event(_event("start", "demo-web-v2", **app), "h1", service="demo", destination=None,
                                accessories={}, services=[])
    assert isinstance(started, api.ContainerStarted)
    assert (started.kind, started.role, started.version, started.id) == (api.ContainerKind.APP, "web", "v2",
                                                                          "0123456789ab")
    assert started.at == pytest.approx(1_700_000_000.5)
    died = change_from_event(_event("die", "demo-web-v1", exitCode="137", **app), "h1", service="demo",
                             destination=None, accessories={}, services=[])
    assert isinstance(died, api.ContainerStopped) and died.exit_code == 137
    health = change_from_event(_event("health_status: unhealthy", "demo-web-v2", **app), "h1", service="demo",
                               destination=None, accessories={}, services=[])
    assert isinstance(health, api.HealthChanged) and health.health is api.ContainerHealth.UNHEALTHY
    renamed = change_from_event(_event("rename", "demo-web-v1_replaced_ab", oldName="/demo-web-v1", **app), "h1",
                                service="demo", destination=None, accessories={}, services=[])
    assert isinstance(renamed, api.ContainerRenamed) and renamed.old_name == "demo-web-v1"
    proxy = change_from_event(_event("start", "kamal-proxy"), "h1", service="demo", destination=None,
                              accessories={}, services=[])
    assert proxy.kind is api.ContainerKind.PROXY
    db = change_from_event(_event("destroy", "demo-db", service="demo-db"), "h1", service="demo", destination=None,
                           accessories={"demo-db": "db"}, services=[])
    assert isinstance(db, api.ContainerRemoved) and db.accessory == "db"
    assert change_from_event(_event("exec_start: sh", "demo-web-v2", **app), "h1", service="demo",
                             destination=None, accessories={}, services=[]) is None
    assert change_from_event(_event("start", "unrelated"), "h1", service="demo", destination=None,
                             accessories={}, services=[]) is None


def test_log_lines_split_off_dockers_timestamp() -> None:
    moment, text = split_timestamp("2024-05-01T10:00:00.5Z GET /up 200")
    assert text == "GET /up 200" and moment == pytest.approx(parse_time("2024-05-01T10:00:00Z") + 0.5)
    assert split_timestamp("no time here") == (None, "no time here")


def test_a_resumed_stream_skips_what_was_already_seen() -> None:
    cursor = Cursor()
    assert cursor.fresh(10.0, "a") and cursor.fresh(10.0, "b") and cursor.fresh(11.0, "c")
    assert not cursor.fresh(10.0, "a") and not cursor.fresh(11.0, "c")  # replayed after `since`
    assert cursor.fresh(11.0, "d") and cursor.fresh(12.0, "e")


def test_status_caches_drop_what_dockers_events_say_changed() -> None:
    from app.engine.status import HostCache

    cache = HostCache()
    cache.trust(True)
    cache.routes = ()
    cache.inspected["0123456789ab"] = {"State": {}}
    assert cache.routes_known
    cache.proxy_event("exec_start: kamal-proxy list", {"execID": "a"})  # our own read: no change
    cache.proxy_event("exec_die", {"execID": "a"})
    assert cache.routes_known
    cache.proxy_event("exec_start: kamal-proxy deploy demo-web --target=x:80", {"execID": "b"})
    assert not cache.routes_known
    cache.routes = ()  # read while the deploy runs: still not trusted until it ends
    assert not cache.routes_known
    cache.proxy_event("exec_die", {"execID": "b"})
    assert cache.routes is None
    cache.container_changed("0123456789abcdef")
    assert "0123456789ab" not in cache.inspected and cache.changes["0123456789ab"] == 1
    cache.routes = ()
    cache.trust(False)
    assert not cache.routes_known


async def test_a_slow_log_consumer_holds_the_reader_back_and_loses_no_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-ahead queue stays bounded while a container has far more lines than the consumer takes."""
    from app.engine import logs as engine_logs

    total = engine_logs.QUEUE_LINES * 3
    per_read = 100  # lines a read of the docker socket brings
    read = 0

    async def stream_log_batches(remote, container, *, tail, since, follow):
        nonlocal read
        for start in range(0, total, per_read):
            read += per_read
            numbers = range(start, min(total, start + per_read))
            yield [("stdout", [f"2026-05-01T10:00:00.{n:09d}Z line {n}" for n in numbers])]
        await asyncio.Event().wait()  # a followed container that prints nothing more

    class Remote:
        async def unless_lost(self, work):
            return await work

    class Fleet:
        pool = {"h1": Remote()}

    monkeypatch.setattr(engine_logs.app_docker, "stream_log_batches", stream_log_batches)
    stream = engine_logs.LogStream(Fleet(), [api.LogSource.app()], since=None, tail=None, grep=None)
    target = engine_logs.Target(api.LogSourceKind.APP, "h1", "demo-web-v1", "abc", role="web")
    reader = asyncio.ensure_future(stream.follow(target, from_start=True))
    await asyncio.sleep(0.05)
    assert engine_logs.QUEUE_LINES <= stream.queue.qsize() < engine_logs.QUEUE_LINES + per_read
    assert read < engine_logs.QUEUE_LINES + 2 * per_read  # the reader waits for the consumer
    taken = []
    while len(taken) < total:
        taken.extend(event.text for event in await stream.queue.get_batch())
    assert taken == [f"line {n}" for n in range(total)]
    assert stream.queue.qsize() == 0
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
