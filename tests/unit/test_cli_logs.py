"""`shipdeck logs` over a fake Fleet: the flags become the right `LogSource`s and options, each event prints as
one prefixed line (markers included), secrets stay masked, Ctrl-C and a closed pipe end it cleanly with the
fleet closed, and bad flags exit 2 with one clear line before anything connects."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cli import build_parser
from app.cli.commands import logs as cli_logs
from app.engine import api
from app.errors import UsageError
from app.secrets import masking

T0 = datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class FakeConfig:
    roles: tuple[Named, ...] = (Named("web"), Named("job"))
    accessories: tuple[Named, ...] = (Named("db"), Named("redis"))
    primary_host: str = "10.0.0.1"


class FakeFleet:
    """Records the `logs()` call and replays scripted events (then waits forever when following)."""

    def __init__(self, events=(), *, config=FakeConfig(), hosts=("10.0.0.1", "10.0.0.2", "10.0.0.3")) -> None:
        self.config = config
        self.hosts = hosts
        self.events = list(events)
        self.calls: list[tuple] = []
        self.closed = False
        self.stream_closed = False

    def logs(self, sources=(), *, since=None, tail=None, follow=False, grep=None):
        self.calls.append((tuple(sources), since, tail, follow, grep))

        async def stream():
            try:
                for event in self.events:
                    yield event
                if follow:
                    await asyncio.Event().wait()
            finally:
                self.stream_closed = True

        return stream()

    async def close(self) -> None:
        self.closed = True


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["logs", *argv])


def line(text: str, host: str = "10.0.0.1", role: str | None = "web", at: float = T0, **extra) -> api.LogLine:
    return api.LogLine(source=extra.pop("source", api.LogSourceKind.APP), host=host, container=f"demo-{role}-abc",
                       text=text, timestamp=at, role=role, **extra)


def printed(fleet: FakeFleet, *argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = asyncio.run(cli_logs._run(fleet, parse(*argv), out))
    return code, out.getvalue().splitlines()


# -- flags → sources and options ----------------------------------------------------------------------


def sources_for(*argv: str, fleet: FakeFleet | None = None) -> tuple[api.LogSource, ...]:
    fleet = fleet or FakeFleet()
    code, _ = printed(fleet, *argv)
    assert code == 0
    return fleet.calls[0][0]


def test_no_source_flags_read_every_app_role_on_every_host() -> None:
    assert sources_for() == (api.LogSource.app(),)


def test_roles_and_hosts_take_lists_and_wildcards() -> None:
    assert sources_for("-r", "w*", "--hosts", "10.0.0.1,10.0.0.3") == (
        api.LogSource.app("web", host="10.0.0.1"), api.LogSource.app("web", host="10.0.0.3"))


def test_accessory_and_proxy_replace_the_default_app_roles_but_named_roles_stay() -> None:
    assert sources_for("--accessory", "db", "--proxy") == (api.LogSource.accessory_of("db"), api.LogSource.proxy())
    assert sources_for("--accessory", "all", "-r", "job") == (
        api.LogSource.app("job"), api.LogSource.accessory_of("db"), api.LogSource.accessory_of("redis"))


def test_primary_narrows_to_the_primary_host() -> None:
    assert sources_for("-p") == (api.LogSource.app(host="10.0.0.1"),)


def test_default_tail_is_kamals_and_since_grep_follow_pass_through() -> None:
    fleet = FakeFleet()
    printed(fleet)
    printed(fleet, "--since", "5m")
    printed(fleet, "--grep", "ERROR|WARN", "--tail", "7")
    assert [call[1:] for call in fleet.calls] == [(None, 100, False, None), ("5m", None, False, None),
                                                  (None, 7, False, "ERROR|WARN")]


@pytest.mark.parametrize(("argv", "message"), [
    (("-r", "api"), "no role matches 'api' (known: web, job)"),
    (("--hosts", "10.9.*"), "no host matches '10.9.*'"),
    (("--accessory", "mysql"), "no accessory matches 'mysql' (known: db, redis)"),
])
def test_an_unknown_name_is_a_usage_error_and_the_fleet_is_closed(argv, message) -> None:
    fleet = FakeFleet()
    with pytest.raises(UsageError, match=message.replace("*", r"\*").replace("(", r"\(").replace(")", r"\)")):
        printed(fleet, *argv)
    assert fleet.calls == [] and fleet.closed


# -- printing -----------------------------------------------------------------------------------------


def test_each_line_is_prefixed_with_its_source_and_timestamp_and_markers_print_as_lines() -> None:
    events = [
        line("Started GET /up"),
        line("checkpoint complete", role=None, accessory="db", source=api.LogSourceKind.ACCESSORY,
             host="10.0.0.3"),
        api.LogSwitched(source=api.LogSourceKind.APP, host="10.0.0.1", old_container="demo-web-v1",
                        new_container="demo-web-v2", at=T0 + 1, role="web", version="v2"),
        api.LogGap(source=api.LogSourceKind.APP, host="10.0.0.2", container="demo-web-v1", reason="connection lost",
                   since=T0 + 2, until=T0 + 5, role="web"),
        line("request", host="10.0.0.2", at=T0 + 6, stream="stderr"),
    ]
    code, lines = printed(FakeFleet(events))
    assert code == 0
    assert lines == [
        "10.0.0.1/web | 2026-05-01T10:00:00.123456Z Started GET /up",
        "10.0.0.3/db  | 2026-05-01T10:00:00.123456Z checkpoint complete",
        "10.0.0.1/web | 2026-05-01T10:00:01.123456Z -- now following demo-web-v2 (was demo-web-v1), version v2 --",
        "10.0.0.2/web | 2026-05-01T10:00:02.123456Z -- stream of demo-web-v1 lost 2026-05-01T10:00:02.123456Z → "
        "2026-05-01T10:00:05.123456Z (connection lost), lines may be missing --",
        "10.0.0.2/web | 2026-05-01T10:00:06.123456Z request",
    ]


def test_skip_timestamps_and_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    code, lines = printed(FakeFleet([line("hello")]), "-T")
    assert code == 0
    assert lines == ["10.0.0.1/web | hello"]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    asyncio.run(cli_logs._run(FakeFleet([line("hello")]), parse("-T"), out))
    assert out.getvalue() == "\x1b[36m10.0.0.1/web\x1b[0m | hello\n"
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    asyncio.run(cli_logs._run(FakeFleet([line("hello")]), parse("-T"), out))
    assert out.getvalue() == "10.0.0.1/web | hello\n"


def test_a_registered_secret_never_reaches_the_output() -> None:
    masking.register("hunter2-secret-value")
    try:
        _, lines = printed(FakeFleet([line("DATABASE_URL=postgres://app:hunter2-secret-value@db/app")]), "-T")
    finally:
        masking.clear()
    assert lines == ["10.0.0.1/web | DATABASE_URL=postgres://app:[REDACTED]@db/app"]


# -- ending -------------------------------------------------------------------------------------------


async def test_ctrl_c_while_following_exits_130_with_the_stream_and_fleet_closed() -> None:
    fleet = FakeFleet([line("first")])
    out = io.StringIO()
    asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), signal.SIGINT)
    code = await cli_logs._run(fleet, parse("-f", "-T"), out)
    assert code == 130
    assert out.getvalue() == "10.0.0.1/web | first\n"
    assert fleet.stream_closed and fleet.closed
    assert fleet.calls[0][2:4] == (10, True)  # Kamal's follow tail


def test_a_closed_pipe_ends_quietly_with_the_fleet_closed() -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    fleet = FakeFleet([line("one"), line("two")])
    code = asyncio.run(cli_logs._run(fleet, parse("-f"), ClosedPipe()))
    assert code == 0 and fleet.stream_closed and fleet.closed


# -- bad flags through the real command line ------------------------------------------------------------


def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from app.sandbox.demo_project import write_demo_project

    monkeypatch.setenv("POSTGRES_PASSWORD", "pg-secret-for-logs")
    monkeypatch.setenv("KAMAL_REGISTRY_PASSWORD", "registry-secret")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("")
    return write_demo_project(tmp_path / "demo", hosts=["10.255.0.1", "10.255.0.2", "10.255.0.3"],
                              registry="registry.invalid:5000", registry_username="demo", ssh_config=ssh_config)


@pytest.mark.parametrize(("argv", "message"), [
    (["--since", "yesterday"], "shipdeck: since 'yesterday' is neither a duration (30s, 5m, 1h) nor a time"),
    (["--grep", "("], "shipdeck: grep '(' is not a regular expression: missing ), unterminated subpattern"),
    (["-r", "api"], "shipdeck: no role matches 'api' (known: web, job)"),
    (["--accessory", "mysql"], "shipdeck: no accessory matches 'mysql' (known: db, redis)"),
    (["--tail", "-3"], "shipdeck logs: error: argument -n/--tail: expected 0 or more lines, got -3"),
    (["--follw"], "shipdeck: error: unrecognized arguments: --follw"),
])
def test_bad_flags_exit_2_with_one_clear_line_and_no_connection(tmp_path, monkeypatch, argv, message) -> None:
    project = demo(tmp_path, monkeypatch)
    result = subprocess.run([sys.executable, "-m", "app", "logs", *argv], cwd=project, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout == ""


def test_every_secret_the_project_names_is_known_to_the_mask_before_lines_are_read(tmp_path, monkeypatch) -> None:
    from app.engine.fleet import Fleet
    from app.engine.logs import resolve_secrets

    masking.clear()
    project = demo(tmp_path, monkeypatch)
    fleet = Fleet.from_project(str(project / "config" / "deploy.yml"))
    try:
        assert masking.mask("pw=pg-secret-for-logs") == "pw=pg-secret-for-logs"  # nothing resolved yet
        resolve_secrets(fleet)
        assert masking.mask("pw=pg-secret-for-logs registry-secret") == "pw=[REDACTED] [REDACTED]"
    finally:
        asyncio.run(fleet.close())
        masking.clear()


def unreachable(host: str = "10.0.0.2") -> api.LogUnreachable:
    return api.LogUnreachable(host=host, reason="cannot connect to port 22: Connection refused", at=T0,
                              sources=(api.LogSource.app(),))


def run_with_stderr(fleet: FakeFleet, *argv: str, auto: bool = False) -> tuple[int, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    args = parse(*argv)
    args.auto = argparse.Namespace(enabled=auto)
    code = asyncio.run(cli_logs.print_logs(fleet, args, out, err))
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


def test_a_host_that_cannot_be_read_is_named_on_stderr_the_others_still_print_and_the_status_says_so() -> None:
    fleet = FakeFleet([line("before"), unreachable(), line("after", host="10.0.0.3")])
    code, out, err = run_with_stderr(fleet)
    assert code == 1 and fleet.closed
    assert [text.rsplit(" ", 1)[-1] for text in out] == ["before", "after"]  # nothing of it on stdout
    assert err == ["shipdeck: 10.0.0.2: cannot read its logs: cannot connect to port 22: Connection refused",
                   "shipdeck: logs incomplete: nothing could be read from 10.0.0.2"]
    assert run_with_stderr(FakeFleet([unreachable(), line("x")]), auto=True)[0] == 3  # --auto: a connection failure


def test_a_host_that_comes_back_and_delivers_leaves_the_status_clean() -> None:
    code, out, err = run_with_stderr(FakeFleet([unreachable(), line("back", host="10.0.0.2")]))
    assert code == 0 and out[-1].endswith(" back") and len(err) == 1
