"""Logs from real containers on the sandbox (the demo app's web role on two hosts and its worker on a third,
its Postgres accessory, kamal-proxy):
`shipdeck logs` prints the merged, prefixed stream, masks the secret the app logs, stops cleanly on Ctrl-C and
on a closed pipe; the dashboard's log view filters, inverts the filter, searches with a counter, pauses and
resumes following, narrows to a time window, saves the view (secret masked), and follows a deploy's new
containers behind a switch marker.

The app's web role is started with a command that logs the Postgres password it was given (as a misconfigured
app would), so every face has a real secret in its stream to mask.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from textual.widgets import Label

from app.engine import api
from app.logview.model import LogLine, Switch
from app.secrets import masking
from app.tui.app import Dashboard
from app.tui.confirmer import DashboardConfirmer
from app.tui.log_screen import LogScreen
from tests.fleet import Sandbox
from tests.sandbox.engine_support import (
    Project,
    get,
    kamal,
    make_project,
    pushed_and_deployed,
    shipdeck,
    shipdeck_argv,
)
from widgets.log_view import LogView

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SIZE = (160, 50)
LEAK = "=> DEBUG POSTGRES_PASSWORD="
WEB_CMD = f"sh -c 'echo \"{LEAK}$POSTGRES_PASSWORD\"; exec bin/web'"


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("logs") / "demo"), accessories=True,
                        extra={"deploy_timeout": 20})
    config = made.config
    config["servers"]["web"]["cmd"] = WEB_CMD
    (made.path / "config" / "deploy.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    made.commit("web logs its database password at boot")
    with pushed_and_deployed(made, "setup", "-P") as deployed:
        yield deployed


@pytest.fixture
def in_project(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Project:
    for key, value in project.sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user keymap
    monkeypatch.chdir(project.path)
    masking.clear()  # the values must come from the logs call itself
    yield project
    masking.clear()


def accessory_host(project: Project) -> str:
    return project.config["accessories"]["db"]["host"]


def traffic(project: Project, count: int = 3) -> None:
    for _ in range(count):
        for host in project.web_hosts():
            with contextlib.suppress(OSError):
                get(host, project.proxy_host, "/version", 3)


class Traffic:
    """Requests through both proxies every 0.2 s on a thread, while a test reads the logs."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            traffic(self.project, 1)
            self.stop.wait(0.2)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


# -- shipdeck logs --------------------------------------------------------------------------------------


def test_the_cli_prints_app_accessory_and_proxy_lines_prefixed_merged_and_masked(in_project: Project) -> None:
    project = in_project
    web1, web2 = project.web_hosts()
    db_host = accessory_host(project)
    traffic(project)
    result = shipdeck(project, "logs", "-r", "web", "--accessory", "db", "--proxy", "--since", "1h", timeout=120)
    lines = result.stdout.splitlines()
    prefixes = {line.split(" | ", 1)[0].strip() for line in lines}
    assert {f"{web1}/web", f"{web2}/web", f"{db_host}/db", f"{web1}/kamal-proxy", f"{web2}/kamal-proxy"} <= prefixes
    stamps = [line.split(" | ", 1)[1].split(" ", 1)[0] for line in lines]
    assert stamps == sorted(stamps), "not merged by timestamp"
    assert any('Started GET "/version"' in line for line in lines if line.startswith(f"{web2}/web "))
    assert any("database system is ready to accept connections" in line for line in lines)
    assert any('"Request"' in line and project.proxy_host in line for line in lines if "kamal-proxy" in line)
    password = project.sandbox.postgres_password
    assert f"{LEAK}[REDACTED]" in result.stdout
    assert password not in result.stdout + result.stderr

    narrowed = shipdeck(project, "logs", "--hosts", web2, "--grep", "Completed 200", "-T", timeout=120).stdout
    assert narrowed and all(line.startswith(f"{web2}/web | ") and "Completed 200" in line
                            for line in narrowed.splitlines())
    tail = shipdeck(project, "logs", "--hosts", web1, "--tail", "2", timeout=120).stdout.splitlines()
    assert len(tail) == 2
    job_host = project.config["servers"]["job"]["hosts"][0]
    every_role = shipdeck(project, "logs", "--since", "1h", timeout=120).stdout
    assert f"{job_host}/job | " in every_role and "[jobs] worker started" in every_role
    assert f"{web1}/web | " in every_role and "/db | " not in every_role and "kamal-proxy | " not in every_role


def test_the_cli_follow_ends_cleanly_on_ctrl_c_and_on_a_closed_pipe(in_project: Project) -> None:
    project = in_project
    web1, _ = project.web_hosts()
    with Traffic(project):
        follower = subprocess.Popen(shipdeck_argv("logs", "-f", "--hosts", web1), cwd=project.path,
                                    env=project.sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        try:
            first = follower.stdout.readline()
            assert first.startswith(f"{web1}/web | "), first
            follower.send_signal(signal.SIGINT)
            _, err = follower.communicate(timeout=15)
        finally:
            if follower.poll() is None:
                follower.kill()
        assert follower.returncode == 130, err
        assert "Traceback" not in err and "Exception" not in err, err

        began = time.monotonic()
        piped = subprocess.run(["bash", "-c", f"{' '.join(shipdeck_argv('logs', '-f'))} | head -n 3; "
                                "echo exit=${PIPESTATUS[0]} >&2"], cwd=project.path, env=project.sandbox.env(),
                               capture_output=True, text=True, timeout=60)
    assert len(piped.stdout.splitlines()) == 3
    assert "exit=0" in piped.stderr, piped.stderr
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
    assert time.monotonic() - began < 30


# -- the log view ---------------------------------------------------------------------------------------


async def open_dashboard():
    from app.engine.fleet import Fleet

    confirmer = DashboardConfirmer()
    fleet = await Fleet.open(confirmer=confirmer)
    return Dashboard(fleet, confirmer=confirmer, refresh_every=0, theme="ansi-dark"), fleet


async def until(condition, pilot, timeout: float, what: str) -> None:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


async def open_logs(app: Dashboard, pilot) -> LogView:
    await until(lambda: app.status_loaded, pilot, 30, "the first status")
    app.open_log_screen((api.LogSource.app(), api.LogSource.accessory_of("db"), api.LogSource.proxy()))
    await until(lambda: isinstance(app.screen, LogScreen) and app.screen.received > 0, pilot, 30,
                "the log screen with its first lines")
    return app.screen.query_one(LogView)


async def quiet(view: LogView, pilot, seconds: float = 1.0) -> None:
    """Wait until no line has arrived for `seconds`, then draw what came."""
    screen = view.screen
    last, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        if screen.received != last:
            last, since = screen.received, time.monotonic()
        await pilot.pause(0.1)
    view.flush()
    await pilot.pause()


def lines_of(view: LogView) -> list[LogLine]:
    return [entry for entry in view.model.entries if isinstance(entry, LogLine)]


def rows(view: LogView) -> list[str]:
    lines = view.lines
    return [lines.render_line(y).text.rstrip() for y in range(lines.scrollable_content_region.height)]


def label(view: LogView, selector: str) -> str:
    return str(view.query_one(selector, Label).content)


async def typed(pilot, text: str) -> None:
    for char in text:
        await pilot.press("space" if char == " " else char)


async def test_the_view_filters_searches_windows_and_saves_real_container_lines(in_project: Project) -> None:
    project = in_project
    web1, web2 = project.web_hosts()
    password = project.sandbox.postgres_password
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            view = await open_logs(app, pilot)
            with Traffic(project):
                await until(lambda: {line.source.host for line in lines_of(view) if "/version" in line.text}
                            >= {web1, web2}, pilot, 30, "request lines from both web hosts")
            await quiet(view, pilot)
            kinds = {line.source.kind for line in lines_of(view)}
            assert kinds == {"app", "accessory", "proxy"}, kinds
            assert {line.source.role for line in lines_of(view) if line.source.kind == "app"} == {"web", "job"}
            assert any(f"{LEAK}[REDACTED]" in line.text for line in lines_of(view))
            assert not any(password in row for row in rows(view))

            # -- filter, then inverted --
            everything = len(view.model)
            await pilot.press("slash")
            await typed(pilot, "Completed 200")
            await pilot.press("enter")
            shown = lines_of(view)
            assert shown and all("Completed 200" in line.text for line in shown)
            assert {line.source.host for line in shown} == {web1, web2}
            assert label(view, "#log-filter-state") == "filter: Completed 200"
            await pilot.press("slash")
            await pilot.press("ctrl+a", "ctrl+k")
            await typed(pilot, "!Completed")
            await pilot.press("enter")
            inverted = lines_of(view)
            assert inverted and not any("completed" in line.text.lower() for line in inverted)
            buffered = lines_of_buffer(view)
            assert len(inverted) == sum("completed" not in line.text.lower() for line in buffered)
            await pilot.press("slash")
            await pilot.press("ctrl+a", "ctrl+k")
            await pilot.press("enter")
            assert len(view.model) >= everything

            # -- search with its counter --
            expected = sum(len(re.findall("Started GET", line.text, re.IGNORECASE)) for line in lines_of(view))
            await pilot.press("G")  # following: the counter starts from the newest match
            await pilot.press("f")
            await typed(pilot, "Started GET")
            await pilot.press("enter")
            assert expected > 0
            assert label(view, "#log-search-count") == f"search: {expected}/{expected}"
            await pilot.press("N")
            assert label(view, "#log-search-count") == f"search: {expected - 1}/{expected}"
            current = view.model.current_match()
            assert current is not None and "Started GET" in current.entry.text
            assert len(view.model) >= everything  # search hides nothing (the worker may have logged meanwhile)

            # -- time window: the last minute, then everything again --
            oldest = min(line.timestamp for line in lines_of(view))
            wait = 62 - (datetime.now(UTC) - oldest).total_seconds()
            if wait > 0:  # the lines of the setup must be more than a minute old
                await pilot.pause(wait)
            await pilot.press("2")
            assert label(view, "#log-window") == "last 1m"
            cutoff = datetime.now(UTC) - timedelta(seconds=61)
            recent = lines_of(view)
            assert all(line.timestamp >= cutoff for line in recent)
            assert len(recent) < len(lines_of_buffer(view))
            await pilot.press("0")
            assert len(view.model) >= everything

            # -- save the filtered view: the header names it, the secret stays masked --
            await pilot.press("slash")
            await typed(pilot, "POSTGRES|Started")
            await pilot.press("enter")
            await pilot.press("ctrl+s")
            await pilot.pause()
            saved = view.last_saved
            assert saved is not None and saved.parent == project.path
            text = saved.read_text()
            saved.unlink()
    finally:
        await fleet.close()
    assert password not in text
    header = [line for line in text.splitlines() if line.startswith("#")]
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert any(line.startswith("# sources: ") and f"{web1}/web (app)" in line and "db (accessory on" in line
               and f"{web1}/proxy (kamal-proxy)" in line for line in header), header
    assert "# filter: lines matching /POSTGRES|Started/ (ignoring case)" in header
    assert any(f"{LEAK}[REDACTED]" in line for line in body)
    assert body and all(re.search("postgres|started", line, re.IGNORECASE) for line in body)


def lines_of_buffer(view: LogView) -> list[LogLine]:
    return [entry for entry in view.model.buffer if isinstance(entry, LogLine)]


async def test_follow_pauses_resumes_and_switches_to_a_deploys_new_containers(in_project: Project) -> None:
    project = in_project
    web1, web2 = project.web_hosts()
    password = project.sandbox.postgres_password
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            view = await open_logs(app, pilot)
            lines = view.lines
            with Traffic(project):
                await until(lambda: len(lines_of(view)) > 60, pilot, 30, "enough lines to scroll")
                view.flush()
                await pilot.pause()
                assert lines.following
                await pilot.press("pageup")
                assert not lines.following
                top = rows(view)[0]
                await until(lambda: "new lines" in label(view, "#log-follow"), pilot, 10, "the new-lines count")
                assert re.fullmatch(r"❚❚ PAUSED \+[\d,]+ new lines? \(G\)", label(view, "#log-follow"))
                assert rows(view)[0] == top  # the page stays put under the reader
                await pilot.press("G")
                assert lines.following and label(view, "#log-follow") == "● FOLLOW"
                assert lines.scroll_y == lines.max_scroll_y

                # -- a deploy while following: the new containers are followed behind a marker --
                v2 = project.commit("v2 while the logs are followed")
                await asyncio.to_thread(kamal, project, "build", "push")
                deploy = fleet.deploy(api.DeployOptions(skip_push=True))
                result = await deploy.result()
                assert result.ok, result.error
                new = f"{project.service}-web-{v2}"
                for host in (web1, web2):
                    await until(lambda host=host: any(isinstance(entry, Switch) and entry.source.host == host
                                                      and entry.new_container == new
                                                      for entry in view.model.entries), pilot, 30,
                                f"the switch on {host}")
                    await until(lambda host=host: any(line.source.host == host and line.container == new
                                                      and "/version" in line.text for line in lines_of(view)),
                                pilot, 30, f"requests served by the new container on {host}")
            await quiet(view, pilot)
            assert lines.following
            drawn = "\n".join(rows(view))
            switches = [entry for entry in view.model.entries if isinstance(entry, Switch)
                        and entry.new_container == new]
            assert {entry.source.host for entry in switches} == {web1, web2}
            assert all(entry.old_container.startswith(f"{project.service}-web-") and entry.old_container != new
                       for entry in switches)
            booted = [line for line in lines_of(view) if line.container == new and LEAK in line.text]
            assert {line.source.host for line in booted} == {web1, web2}
            assert all(line.text == f"{LEAK}[REDACTED]" for line in booted)
            assert password not in drawn
            # the switch marker is drawn where it happened
            await pilot.press("slash")
            await typed(pilot, "now following")
            await pilot.press("enter")
            marker_rows = [row for row in rows(view) if f"⇄ switch: now following {new}" in row]
            assert len(marker_rows) == 2, rows(view)
    finally:
        await fleet.close()
