"""The dashboard App: it owns the fleet, the state (`app.tui.state`) and the workers; the widgets only
render what it hands them.

Three workers feed the state: `status()` snapshots, the `watch()` change stream (applied at once, then
confirmed by a fresh snapshot half a second later), and the events of the run in progress. Workers
update the state and mark what is stale; rendering happens on the App's own turns (at once for fleet
changes, at most ten times a second for a run's output), so a flood of output never queues up ahead
of a key press.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer

import styles
from app.engine.api import (
    ConfirmationRequest,
    Diagnosis,
    DiagnosisReport,
    Effect,
    FleetAPI,
    FleetChange,
    FleetStatus,
    LogSource,
    Run,
    RunResult,
)
from app.errors import ShipdeckError
from app.secrets.masking import mask
from app.tui import repairs, state
from app.tui.commands import DashboardCommands
from app.tui.confirmer import DashboardConfirmer
from app.tui.keymap import APP_KEYS, display_key, effective_keys, keymap_path
from app.tui.screens import ChoiceScreen, HelpScreen
from widgets.accessory_table import AccessoryTable
from widgets.confirm_screen import ConfirmScreen
from widgets.fleet_header import FleetHeader, is_production
from widgets.host_table import HostTable
from widgets.proxy_panel import ProxyPanel
from widgets.status_table import StatusTable
from widgets.step_matrix import StepMatrix

STYLE_FILES = ("app.tcss", "dashboard.tcss", "confirm.tcss")
CHANGE_SETTLE_S = 0.5  # a fresh status() this long after a watch() change fills in the details
RUN_SETTLE_S = 3.0  # ... but at most this often while an operation runs (its changes come by the dozen, and
#                     each status() costs every host a round of listings; the changes show at once anyway)
RECENT_CHANGES_S = 10.0  # changes newer than a snapshot are applied on top of it again
# Docker's container listing can lag its event stream: a listing asked for a few milliseconds after a `die`
# event may still say "running". Changes this much older than a snapshot are applied on top of it too (in
# order, so a later change still wins; one the snapshot already shows changes nothing).
LISTING_LAG_S = 1.0
ACTIVITY_FRAME_S = 0.1  # a run's output is rendered at most this often
CONFIRM_LABELS = {  # the confirm button says what it does; others read "Confirm" ("Delete" where data goes)
    "ssh.trust_host_key": "Trust this key",
    "proxy.reboot": "Reboot",
}
LOG_TAIL_LINES = 500  # history each followed container contributes when the log view opens


def describe_log_source(source: LogSource) -> str:
    """`app (web) on h1`, `accessory db`, `kamal-proxy on every host`: the log screen's title."""
    where = f" on {source.host}" if source.host else (" on every host" if source.kind != "accessory" else "")
    if source.kind == "accessory":
        return f"accessory {source.accessory}{where}"
    if source.kind == "proxy":
        return f"kamal-proxy{where}"
    return f"app{f' ({source.role})' if source.role else ''}{where}"


PANELS = {"hosts": "#hosts", "accessories": "#accessories", "proxy": "#proxy-hosts", "activity": "#matrix"}


class ConfirmationAsked(Message):
    def __init__(self, request: ConfirmationRequest, answer: asyncio.Future[bool]) -> None:
        self.request = request
        self.answer = answer
        super().__init__()


class StatusLoaded(Message):
    def __init__(self, status: FleetStatus, generation: int, complete: bool) -> None:
        self.status = status
        self.generation = generation
        self.complete = complete  # every host was waited for
        super().__init__()


class RunEnded(Message):
    def __init__(self, run: Run, result: RunResult) -> None:
        self.run = run
        self.result = result
        super().__init__()


@dataclass(frozen=True)
class PaletteCommand:
    name: str
    callback: Callable[[], object]
    help: str


def terminal_theme(environ: dict[str, str] | None = None) -> str:
    """The terminal's own colours: `ansi-light` when it says its background is light (COLORFGBG)."""
    environ = os.environ if environ is None else environ
    background = (environ.get("COLORFGBG") or "").rsplit(";", 1)[-1]
    return "ansi-light" if background in {"7", "15"} else "ansi-dark"


class Dashboard(App[int], inherit_bindings=False):
    TITLE = "shipdeck"
    CSS_PATH = [styles.path(name) for name in STYLE_FILES]
    BINDINGS = [Binding(spec.keys, spec.action, spec.description, show=spec.show, id=spec.id) for spec in APP_KEYS]
    COMMANDS = App.COMMANDS | {DashboardCommands}

    def __init__(self, fleet: FleetAPI, *, confirmer: DashboardConfirmer | None = None, read_only: bool = False,
                 keymap: dict[str, str] | None = None, keymap_file: str | None = None,
                 clock: Callable[[], float] = time.time, refresh_every: float = 30.0,
                 diagnose_every: float = 300.0, theme: str | None = None,
                 on_first_frame: Callable[[], object] | None = None) -> None:
        """`on_first_frame` runs once the first frame is on screen (e.g. to start opening the fleet).

        Status is refreshed every `refresh_every` seconds; the checks (which read log tails on every host) run
        after the first status, after every operation, on `r`, and otherwise every `diagnose_every` seconds."""
        super().__init__(ansi_color=True)
        self.on_first_frame = on_first_frame
        self.fleet = fleet
        self.confirmer = confirmer
        self.read_only = read_only or fleet.service is None
        self.clock = clock
        self.refresh_every = refresh_every
        self.diagnose_every = diagnose_every
        self._diagnosed_at: float | None = None  # when the last checks started (monotonic)
        self.keymap = dict(keymap or {})
        self.keymap_file = keymap_file or str(keymap_path())
        self.theme = theme or terminal_theme()
        self.status: FleetStatus = state.connecting_status(
            fleet.service, fleet.destination, fleet.hosts,
            {host: fleet.connection_state(host) for host in fleet.hosts}, now=clock())
        self.status_loaded = False  # a snapshot that waited for every host has arrived
        self.activity: state.Activity | None = None
        self.current_run: Run | None = None
        self.attention: dict[str, str] = {}  # accessory (or accessory@host) → what needs attention
        self.report: DiagnosisReport | None = None  # the last `Fleet.diagnose()`
        self._generation = 0
        self._applied_generation = 0
        self._recent: deque[FleetChange] = deque(maxlen=500)
        self._settle_timer: Timer | None = None
        self._activity_dirty = False
        self._activity_rendered_at = 0.0
        self._status_render_pending = False
        self._pending_answers: list[asyncio.Future[bool]] = []

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield FleetHeader(id="header")
        with Container(id="panels"):
            with Container(id="hosts-panel", classes="panel"):
                yield HostTable(id="hosts")
            with Container(id="proxy-panel", classes="panel"):
                yield ProxyPanel(id="proxy")
            with Container(id="accessories-panel", classes="panel"):
                yield AccessoryTable(id="accessories")
            with Container(id="activity-panel", classes="panel"):
                yield StepMatrix(self._activity_placeholder(), id="activity")
        yield Footer()

    def _activity_placeholder(self) -> str:
        if self.read_only:
            return "Server mode is read-only: no operations from here (l shows logs, ? the keys)."
        keys = effective_keys(self.keymap)
        return (f"No operation yet: {display_key(keys['deploy'])} deploys, {display_key(keys['command-palette'])} "
                "lists every command.")

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        if self.confirmer is not None:
            self.confirmer.attach(self)
        keys = effective_keys(self.keymap)
        for panel, title in (("hosts", "Hosts"), ("accessories", "Accessories"), ("proxy", "Proxy"),
                             ("activity", "Activity")):
            self.query_one(f"#{panel}-panel").border_title = f"{title} [{display_key(keys[f'focus-{panel}'])}]"
        self._render_status()
        self.query_one("#hosts", HostTable).focus()
        if self.on_first_frame is not None:
            self.call_after_refresh(self.on_first_frame)
        self.theme_changed_signal.subscribe(self, self._restyle)
        self.load_status(wait=False)  # what is known at once,
        self.load_status()  # then every row filled as the hosts answer
        self.follow_changes()
        self.set_interval(ACTIVITY_FRAME_S, self._tick)
        if self.refresh_every > 0:
            self.set_interval(self.refresh_every, self._refresh_on_timer)

    def on_unmount(self) -> None:
        if self.confirmer is not None:
            self.confirmer.attach(None)
        for answer in self._pending_answers:
            if not answer.done():
                answer.set_result(False)

    # -- state: status and changes --------------------------------------------------------------

    @work(group="status", exit_on_error=False)
    async def load_status(self, wait: bool = True) -> None:
        """A fresh snapshot; with `wait=False` hosts still connecting are reported as such (the first
        frame), else their first connection is waited for."""
        self._generation += 1
        generation = self._generation
        try:
            status = await self.fleet.status(wait=wait)
        except ShipdeckError as error:
            self.notify(error.message, title="Status", severity="error")
            return
        except Exception as error:  # the dashboard stays up; the next change or refresh tries again
            self.notify(mask(f"{type(error).__name__}: {error}"), title="Status", severity="error")
            return
        self.post_message(StatusLoaded(status, generation, complete=wait))

    @on(StatusLoaded)
    def _status_loaded(self, message: StatusLoaded) -> None:
        if message.generation < self._applied_generation:
            return  # an older snapshot that answered late
        self._applied_generation = message.generation
        status = self._in_config_order(message.status)
        for change in self._recent:  # what happened after the snapshot was taken
            if change.at > status.taken_at - LISTING_LAG_S:
                status = state.apply_change(status, change)
        self.status = status
        first = message.complete and not self.status_loaded
        self.status_loaded = self.status_loaded or message.complete
        self._render_status()
        if first:
            self.diagnose()

    def _in_config_order(self, status: FleetStatus) -> FleetStatus:
        """Hosts in the order the fleet lists them (the config's), whatever order they answered in."""
        order = {host: index for index, host in enumerate(self.fleet.hosts)}
        hosts = tuple(sorted(status.hosts, key=lambda host: order.get(host.name, len(order))))
        return status if hosts == status.hosts else dataclasses.replace(status, hosts=hosts)

    @work(group="watch", exit_on_error=False)
    async def follow_changes(self) -> None:
        """Apply every change as it comes; a stream that breaks is picked up again."""
        delay = 1.0
        while True:
            try:
                async for change in self.fleet.watch():
                    delay = 1.0
                    self._recent.append(change)
                    self.status = state.apply_change(self.status, change)
                    self._schedule_status_render()
                    self._settle()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the stream broke: say so, then follow again
                self.notify(mask(f"Live updates interrupted: {error}"), title="Watch", severity="warning")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _settle(self) -> None:
        """A fresh snapshot soon after a burst of changes (health, images of new containers)."""
        if self._settle_timer is None:
            self._settle_timer = self.set_timer(RUN_SETTLE_S if self.run_active else CHANGE_SETTLE_S, self._settled)

    def _settled(self) -> None:
        self._settle_timer = None
        self.load_status()

    def _schedule_status_render(self) -> None:
        if not self._status_render_pending:
            self._status_render_pending = True
            self.call_later(self._render_status)

    def _render_status(self) -> None:
        self._status_render_pending = False
        status = self.status
        if not self._applied_generation:  # connection states move before the first snapshot answers
            status = self.status = state.connecting_status(
                self.fleet.service, self.fleet.destination, self.fleet.hosts,
                {host: self.fleet.connection_state(host) for host in self.fleet.hosts}, now=self.clock())
        with contextlib.suppress(NoMatches):  # the dashboard is closing
            self.query_one(FleetHeader).show(status, now=self.clock(), read_only=self.read_only)
            self.query_one(HostTable).show(status)
            self.query_one(AccessoryTable).show(status, self._attention())
            self.query_one(ProxyPanel).show(status)

    def _restyle(self, theme: object = None) -> None:
        """Another theme (from the palette): cells carry their tone's colour, so draw them again."""
        for table in self.query(StatusTable):
            table.refresh_tones()
        if self.activity is not None:
            self.activity.layout_changed = True
            self._render_activity()
        self.query_one(FleetHeader).forget()
        self._render_status()

    def _attention(self) -> dict[str, str]:
        attention = dict(self.attention)
        if self.activity is not None:
            names = set(state.accessory_names(self.status))
            for diagnosis in self.activity.diagnoses:
                if diagnosis.target in names:
                    key = f"{diagnosis.target}@{diagnosis.host}" if diagnosis.host else diagnosis.target
                    attention.setdefault(key, diagnosis.title)
        return attention

    # -- state: the run -------------------------------------------------------------------------

    @property
    def run_active(self) -> bool:
        return self.current_run is not None and not self.current_run.done

    def start_run(self, start: Callable[[], Run]) -> Run | None:
        """Start an operation (unless one is running) and follow its events into the activity."""
        if self.run_active:
            assert self.current_run is not None
            self.notify(f"{self.current_run.command} is still running: wait, or cancel it first.",
                        severity="warning")
            return None
        try:
            run = start()
        except ShipdeckError as error:
            self.notify(error.message, severity="error")
            return None
        self.current_run = run
        self.activity = state.Activity(run_id=run.id, command=run.command, started_at=self.clock())
        self._follow_run(run)
        self.refresh_bindings()
        self._render_activity()
        return run

    @work(group="run", exit_on_error=False)
    async def _follow_run(self, run: Run) -> None:
        activity = self.activity
        assert activity is not None
        async for event in run:
            activity.apply(event)
            self._activity_dirty = True
            if isinstance(event, Diagnosis):
                self._schedule_status_render()
        result = await run.result()
        self.post_message(RunEnded(run, result))

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        run, result = message.run, message.result
        self._render_activity()
        self.refresh_bindings()
        if result.ok:
            self.notify(f"{run.command}: done", title="Done")
        elif result.cancelled:
            self.notify(f"{run.command}: cancelled", title="Cancelled", severity="warning")
        else:
            self.notify(f"{run.command}: {result.error or 'failed'}", title="Failed", severity="error", timeout=10)
        self.load_status()
        self.diagnose()

    def _tick(self) -> None:
        if self.activity is None:
            return
        if self._activity_dirty or (self.activity.running and time.monotonic() - self._activity_rendered_at > 0.5):
            self._render_activity()

    def _render_activity(self) -> None:
        self._activity_dirty = False
        self._activity_rendered_at = time.monotonic()
        now = self.clock()
        with contextlib.suppress(NoMatches):  # the dashboard is closing
            self.query_one(StepMatrix).show(self.activity, now)
            self.query_one(FleetHeader).show(self.status, now=now, read_only=self.read_only)  # the lock's age

    # -- confirmations --------------------------------------------------------------------------

    @property
    def where(self) -> str:
        """What an operation acts on, as a confirmation names it: `demo on PRODUCTION`."""
        if self.fleet.service is None:
            return ""
        destination = self.fleet.destination
        if destination is None:
            return self.fleet.service
        return f"{self.fleet.service} on {destination.upper() if is_production(destination) else destination}"

    async def ask(self, request: ConfirmationRequest) -> bool:
        """The engine's confirmation request, answered in a modal (the `DashboardConfirmer` calls this)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending_answers.append(answer)
        self.post_message(ConfirmationAsked(request, answer))
        try:
            return await answer
        finally:
            self._pending_answers.remove(answer)

    @on(ConfirmationAsked)
    def _show_confirmation(self, message: ConfirmationAsked) -> None:
        def answered(confirmed: bool | None) -> None:
            if not message.answer.done():
                message.answer.set_result(bool(confirmed))

        label = CONFIRM_LABELS.get(message.request.action)
        self.push_screen(ConfirmScreen(message.request, where=self.where, confirm_label=label), answered)

    # -- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        spec = next((spec for spec in APP_KEYS if spec.action == action), None)
        if spec is not None and spec.writes:
            if self.read_only:
                return False
            if action == "repair" and not repairs.offered(self.report):
                return False  # hidden until a check finds something to repair
            return None if self.run_active else True
        if action == "cancel_run":
            return True if self.run_active else None
        return True

    def action_deploy(self) -> None:
        self.start_run(lambda: self.fleet.deploy())

    def action_redeploy(self) -> None:
        self.start_run(lambda: self.fleet.redeploy())

    def action_rollback(self) -> None:
        versions = [(version, count, running) for version, count, running in state.rollback_versions(self.status)
                    if not running]
        if not versions:
            self.notify("No other version has containers left to roll back to.", severity="warning")
            return
        options = [(version, f"{version}  ({count} stopped container{'s' if count != 1 else ''})")
                   for version, count, _ in versions]
        self.push_screen(ChoiceScreen("Roll back to which version?", options,
                                      explanation="Versions that still have containers on the hosts."),
                         self._rollback_chosen)

    def _rollback_chosen(self, version: str | None) -> None:
        if version:
            self.rollback(version)

    def rollback(self, version: str) -> None:
        self.start_run(lambda: self.fleet.rollback(version))

    def action_app_stop(self) -> None:
        self.start_run(lambda: self.fleet.app_stop())

    def action_app_start(self) -> None:
        self.start_run(lambda: self.fleet.app_start())

    def _with_accessory(self, verb: str, then: Callable[[str], None]) -> None:
        """The accessory under the cursor when that table has focus, the only one, else ask which."""
        names = state.accessory_names(self.status)
        table = self.query_one(AccessoryTable)
        if not names:
            self.notify("This project has no accessories running or configured.", severity="warning")
            return
        if table.has_focus and table.selected_accessory:
            then(table.selected_accessory)
        elif len(names) == 1:
            then(names[0])
        else:
            self.push_screen(ChoiceScreen(f"{verb} which accessory?", [(name, name) for name in names]),
                             lambda name: then(name) if name else None)

    def action_accessory_boot(self) -> None:
        self._with_accessory("Boot", self.accessory_boot)

    def action_accessory_reboot(self) -> None:
        self._with_accessory("Reboot", self.accessory_reboot)

    def action_accessory_remove(self) -> None:
        self._with_accessory("Remove", self.accessory_remove)

    def accessory_boot(self, name: str) -> None:
        self.start_run(lambda: self.fleet.accessory_boot(name))

    def accessory_reboot(self, name: str) -> None:
        self.start_run(lambda: self.fleet.accessory_reboot(name))

    def accessory_remove(self, name: str) -> None:
        self.start_run(lambda: self.fleet.accessory_remove(name))

    def action_proxy_boot(self) -> None:
        self.start_run(lambda: self.fleet.proxy_boot())

    def action_proxy_reboot(self) -> None:
        hosts = len(self.status.proxies) or len(self.status.hosts)
        options = [("rolling", "One host at a time (rolling): the others keep serving"),
                   ("all", f"All {hosts} hosts at once")]
        self.push_screen(ChoiceScreen("Reboot kamal-proxy how?", options,
                                      explanation="Each host stops serving requests while its proxy restarts."),
                         self._proxy_reboot_chosen)

    def _proxy_reboot_chosen(self, how: str | None) -> None:
        if how:
            self.proxy_reboot(rolling=how == "rolling")

    def proxy_reboot(self, *, rolling: bool) -> None:
        self.start_run(lambda: self.fleet.proxy_reboot(rolling=rolling))

    def action_lock_release(self) -> None:
        self.start_run(lambda: self.fleet.lock_release())

    def action_prune(self) -> None:
        self.start_run(lambda: self.fleet.prune())

    def action_cancel_run(self) -> None:
        if not self.run_active or self.activity is None or self.current_run is None:
            return
        self.current_run.cancel()
        self.activity.cancelling = True
        self._render_activity()

    def action_refresh(self) -> None:
        self.load_status()
        self.diagnose()

    def _refresh_on_timer(self) -> None:
        self.load_status()
        if self._diagnosed_at is None or time.monotonic() - self._diagnosed_at >= self.diagnose_every:
            self.diagnose()

    # -- diagnose and repair ----------------------------------------------------------------------

    @work(group="diagnose", exclusive=True, exit_on_error=False)
    async def diagnose(self) -> None:
        """Every read-only check; accessories with a finding are marked, and R offers their repairs."""
        if self.read_only or not hasattr(self.fleet, "diagnose"):
            return
        self._diagnosed_at = time.monotonic()
        try:
            report = await self.fleet.diagnose()
        except ShipdeckError as error:
            self.notify(error.message, title="Diagnose", severity="warning")
            return
        except Exception as error:  # the dashboard stays up; the next refresh tries again
            self.notify(mask(f"{type(error).__name__}: {error}"), title="Diagnose", severity="warning")
            return
        before = set(self.attention)
        self.report = report
        self.attention = repairs.attention(report, state.accessory_names(self.status))
        self._render_status()
        self.refresh_bindings()
        new = [title for key, title in self.attention.items() if key not in before]
        if new and repairs.offered(report):
            self.notify(f"{new[0]}: press {display_key(effective_keys(self.keymap)['repair'])} to see the repairs",
                        title="Needs attention", severity="warning", timeout=10)

    def action_repair(self) -> None:
        table = self.query_one(AccessoryTable)
        accessory = table.selected_accessory if table.has_focus else None
        offered = repairs.offered(self.report, accessory) or repairs.offered(self.report)
        if not offered:
            self.notify("Nothing to repair: no check found a problem shipdeck can fix (r checks again).")
            return
        if len(offered) == 1:
            self.repair(*offered[0])
            return
        options = [(str(index), f"{repair.label} — {finding.target}") for index, (finding, repair) in
                   enumerate(offered)]
        self.push_screen(ChoiceScreen("Which repair?", options, explanation=offered[0][0].what),
                         lambda index: self.repair(*offered[int(index)]) if index is not None else None)

    def repair(self, finding, repair) -> None:
        """A repair that deletes nothing is confirmed here (its exact steps); one that deletes data is
        confirmed by the engine's own request, where the `host:path` must be typed."""
        if repairs.engine_confirms(repair):
            self.start_run(lambda: self.fleet.repair(repair.id))
            return
        self.push_screen(ConfirmScreen(repairs.confirmation(finding, repair), confirm_label="Repair",
                                       where=self.where),
                         lambda confirmed: self.start_run(lambda: self.fleet.repair(repair.id)) if confirmed else None)

    def action_focus_panel(self, panel: str) -> None:
        selector = PANELS.get(panel)
        if selector:
            self.query_one(selector, DataTable).focus()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(effective_keys(self.keymap), keymap_file=self.keymap_file,
                                    read_only=self.read_only))

    # -- logs -----------------------------------------------------------------------------------

    def selected_log_sources(self) -> tuple[LogSource, ...]:
        """What `l` opens: the accessory, proxy or host under the cursor of the focused table, else
        every app role."""
        focused = self.focused
        if isinstance(focused, AccessoryTable) and focused.selected_accessory:
            key = focused.selected_key or ""
            host = key.partition("@")[2] or None
            return (LogSource.accessory_of(focused.selected_accessory, host=host),)
        if focused is not None and focused.id == "proxy-hosts":
            host = focused.selected_key  # type: ignore[attr-defined]
            return (LogSource.proxy(host=host),)
        if isinstance(focused, HostTable) and focused.selected_key:
            return (LogSource.app(host=focused.selected_key),)
        return (LogSource.app(),)

    def action_open_logs(self) -> None:
        self.open_log_screen(self.selected_log_sources())

    def open_log_screen(self, sources: tuple[LogSource, ...]) -> None:
        """The log view over `self.fleet.logs()` for `sources`: the last lines, then followed live."""
        from app.tui.log_feed import LogFeed
        from app.tui.log_screen import LogScreen

        stream = self.fleet.logs(sources, tail=LOG_TAIL_LINES, follow=True)
        what = ", ".join(describe_log_source(source) for source in sources)
        self.push_screen(LogScreen(LogFeed().entries(stream), title=what))

    # -- quitting -------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        if not self.run_active:
            self.exit(0)
            return
        run = self.current_run
        assert run is not None
        hosts = tuple(self.activity.hosts if self.activity else ()) or self.fleet.hosts
        request = ConfirmationRequest(
            action="dashboard.quit", target=run.command,
            title=f"Quit while {run.command} is running?",
            consequence=f"{run.command} is cancelled where it is: the deploy lock is released and what it had "
                        "renamed is restored. Hosts it already finished keep the new state.",
            effects=tuple(Effect(host, f"cancel {run.command}") for host in hosts))
        self.push_screen(ConfirmScreen(request, confirm_label="Cancel it and quit", where=self.where),
                         self._quit_confirmed)

    def _quit_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            self._cancel_and_quit()

    @work(group="quit", exit_on_error=False)
    async def _cancel_and_quit(self) -> None:
        run = self.current_run
        if run is not None and not run.done:
            run.cancel()
            if self.activity is not None:
                self.activity.cancelling = True
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(run.result(), timeout=60)
        self.exit(0)

    # -- the command palette --------------------------------------------------------------------

    def palette_commands(self) -> list[PaletteCommand]:
        keys = effective_keys(self.keymap)
        commands: list[PaletteCommand] = []

        def add(name: str, callback: Callable[[], object], binding: str | None = None, help_text: str = "") -> None:
            key = f"key {display_key(keys[binding])}" if binding else ""
            commands.append(PaletteCommand(name, callback, " · ".join(part for part in (help_text, key) if part)))

        if not self.read_only:
            add("Deploy", self.action_deploy, "deploy", f"build and ship {self.status.deploy_version or 'HEAD'}")
            add("Redeploy", self.action_redeploy, "redeploy", "deploy without bootstrapping hosts or the proxy")
            for version, count, running in state.rollback_versions(self.status):
                if not running:
                    add(f"Roll back to {version}", lambda v=version: self.rollback(v), None,
                        f"{count} container{'s' if count != 1 else ''} left")
            add("Stop app", self.action_app_stop, "app-stop", "stop the app containers on every host")
            add("Start app", self.action_app_start, "app-start", "start the stopped app containers")
            for name in state.accessory_names(self.status):
                add(f"Boot accessory {name}", lambda n=name: self.accessory_boot(n), "accessory-boot")
                add(f"Reboot accessory {name}", lambda n=name: self.accessory_reboot(n), "accessory-reboot")
                add(f"Remove accessory {name}", lambda n=name: self.accessory_remove(n), "accessory-remove",
                    "deletes its data directories (asks first)")
            add("Boot proxy", self.action_proxy_boot, "proxy-boot")
            add("Reboot proxy (rolling)", lambda: self.proxy_reboot(rolling=True), "proxy-reboot",
                "one host at a time (asks first)")
            add("Reboot proxy (all hosts at once)", lambda: self.proxy_reboot(rolling=False), "proxy-reboot",
                "brief outage on every host (asks first)")
            for finding, repair in repairs.offered(self.report):
                add(f"Repair: {repair.label} ({finding.target})", lambda f=finding, r=repair: self.repair(f, r),
                    "repair", "deletes data (asks first)" if repair.destructive else "nothing is deleted")
            add("Release the deploy lock", self.action_lock_release, "lock-release")
            add("Prune old containers and images", self.action_prune, "prune")
        if self.run_active:
            add("Cancel the running operation", self.action_cancel_run, "cancel-run", "the lock is released")
        add("Logs", self.action_open_logs, "logs")
        add("Refresh status", self.action_refresh, "refresh")
        add("Keys (help)", self.action_help, "help")
        return commands
