"""`Fleet.diagnose()` and the Postgres repairs over fakes: what is gathered, when the password probe runs,
what it sends (stdin only), and what each repair step hands to Docker."""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.diagnose import scram
from app.diagnose.env_delivery import received_value
from app.diagnose.findings import Severity
from app.engine import api, doctor, repairs
from app.engine.events import EventLog, Notice
from app.engine.runner import Run
from app.errors import ShipdeckError, UsageError
from app.remote.docker_streams import ExecResult
from tests.unit.diagnose_support import make_config

PASSWORD = "s3cret-pass"
DB = {"image": "postgres:16", "host": "web1", "env": {"secret": ["POSTGRES_PASSWORD"]},
      "directories": ["data:/var/lib/postgresql/data"]}
REJECTED = 'psql: error: connection to server at "app-db" (172.18.0.2), port 5432 failed: FATAL:  password ' \
           'authentication failed for user "postgres"'


@dataclass
class FakeRemote:
    name: str


class FakeSecrets(dict):
    def get(self, key, default=None):
        return super().get(key, default)


class FakeDocker:
    """Stands in for app.remote.app_docker: log tails per container, and exec results in order."""

    def __init__(self, logs: dict[str, list[str]], exec_results: list[ExecResult] | None = None) -> None:
        self.log_tails = logs
        self.exec_results = list(exec_results or [])
        self.execs: list[tuple[str, str, tuple[str, ...], bytes | None]] = []
        self.log_calls: list[tuple[str, str | None]] = []

    async def logs(self, remote, container, *, tail=None, since=None, timestamps=False):
        self.log_calls.append((container, since))
        return list(self.log_tails.get(container, []))

    async def exec_in_container(self, remote, container, argv, *, stdin=None, env=None):
        self.execs.append((remote.name, container, tuple(argv), stdin))
        return self.exec_results.pop(0)


class FakeFleet:
    def __init__(self, config, secrets, status: api.FleetStatus) -> None:
        self.config = config
        self.secrets = secrets
        self._status = status
        self.pool = {host: FakeRemote(host) for host in config.all_hosts}

    def _require_project(self):
        return self.config

    async def status(self) -> api.FleetStatus:
        return self._status


def status(config, *, app_state=api.ContainerState.RUNNING, db_state=api.ContainerState.RUNNING,
           reachable: bool = True, lock: api.LockStatus | None = None, proxy_version: str = "v9.9.0",
           started: float = 1_700_000_000.0) -> api.FleetStatus:
    host = config.all_hosts[0]
    return api.FleetStatus(
        taken_at=time.time(), service=config.service, destination=None,
        hosts=(api.HostStatus(name=host, state=api.ConnectionState.UP if reachable else api.ConnectionState.FAILED,
                              error=None if reachable else "Connection refused"),),
        apps=(api.AppContainer(host=host, service=config.service, destination=None, role="web", name="app-web-v1",
                               version="v1", state=app_state, health=api.ContainerHealth.NONE, started_at=started),),
        accessories=(api.AccessoryStatus(host=host, name="db", container="app-db", state=db_state,
                                         health=api.ContainerHealth.NONE, image="postgres:16",
                                         service=config.service),),
        proxies=(api.ProxyStatus(host=host, state=api.ContainerState.RUNNING, version=proxy_version),),
        locks=(lock,) if lock else ())


@pytest.fixture
def config(tmp_path: Path):
    return make_config(tmp_path, accessories={"db": DB}, env={"secret": ["POSTGRES_PASSWORD"]})


@pytest.fixture
def fake_home(monkeypatch: pytest.MonkeyPatch):
    async def home(remote):
        return "/root"

    monkeypatch.setattr("app.remote.docker_ops.home_directory", home)


def use(monkeypatch: pytest.MonkeyPatch, docker: FakeDocker) -> FakeDocker:
    monkeypatch.setattr(doctor.app_docker, "logs", docker.logs)
    monkeypatch.setattr(doctor.app_docker, "exec_in_container", docker.exec_in_container)
    return docker


def secrets() -> FakeSecrets:
    return FakeSecrets(POSTGRES_PASSWORD=PASSWORD, KAMAL_REGISTRY_PASSWORD="r")


ENVIRON = {"HOME": "/home/op", "PATH": "/usr/bin"}


async def test_a_healthy_fleet_reports_nothing_and_never_probes(config, monkeypatch, fake_home) -> None:
    docker = use(monkeypatch, FakeDocker({"app-web-v1": ["* Listening on http://0.0.0.0:80"],
                                          "app-db": ["database system is ready to accept connections"]}))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    assert report.healthy, [finding.code for finding in report.findings]
    assert docker.execs == []  # no rejected logins: no probe
    assert any("no rejected logins" in check for check in report.checks)
    # The accessory's log is read since the running app container started (older failures are history).
    assert ("app-db", "1700000000.000000") in docker.log_calls


async def test_rejected_logins_and_a_rejected_probe_are_a_tainted_volume(config, monkeypatch, fake_home) -> None:
    docker = use(monkeypatch, FakeDocker(
        {"app-web-v1": [REJECTED],
         "app-db": ["PostgreSQL Database directory appears to contain a database; Skipping initialization",
                    'FATAL:  password authentication failed for user "postgres"']},
        [ExecResult(2, "", REJECTED)]))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    finding = next(finding for finding in report.findings if finding.code == "postgres.tainted_volume")
    assert (finding.host, finding.target, finding.severity) == ("web1", "db", Severity.ERROR)
    assert "~/app-db/data" in finding.what
    assert {repair.id for repair in finding.repairs} == {"db-password", "db-wipe"}
    assert not report.healthy
    # The probe: the password only on stdin, never in the command.
    [(host, container, argv, stdin)] = docker.execs
    assert (host, container) == ("web1", "app-db")
    assert stdin == PASSWORD.encode() + b"\n"
    assert not any(PASSWORD in part for part in argv)
    assert "psql" in argv[-1] and "-h app-db" in argv[-1]
    wipe = finding.repair("db-wipe")
    assert wipe.confirm == "accessory.wipe:db" and wipe.destructive
    assert any("/home/op/.local/state/shipdeck/backups/app/app-db-web1-" in (step.stdout or "")
               for step in wipe.steps)


async def test_an_accepted_probe_blames_the_app_not_the_volume(config, monkeypatch, fake_home) -> None:
    use(monkeypatch, FakeDocker({"app-web-v1": [REJECTED], "app-db": []}, [ExecResult(0, "1\n", "")]))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    assert [finding.code for finding in report.attention] == ["postgres.app_password_differs"]


async def test_an_unreachable_database_is_no_tainted_volume(config, monkeypatch, fake_home) -> None:
    use(monkeypatch, FakeDocker({"app-web-v1": [REJECTED]},
                                [ExecResult(2, "", 'psql: error: could not translate host name "app-db"')]))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    assert not any(finding.code.startswith("postgres.") for finding in report.findings)
    assert any("unreachable" in check for check in report.checks)


async def test_hosts_secrets_accessories_proxy_and_lock(config, monkeypatch, fake_home) -> None:
    use(monkeypatch, FakeDocker({}))
    old = datetime.now(UTC) - timedelta(hours=5)
    lock = api.LockStatus(service="app", destination=None, held=True, host="web1",
                          details=f"Locked by: Ann at {old.isoformat()}\nVersion: v1\nMessage: Automatic deploy lock")
    report = await doctor.diagnose(FakeFleet(config, FakeSecrets(KAMAL_REGISTRY_PASSWORD="r"),
                                             status(config, db_state=api.ContainerState.MISSING, lock=lock,
                                                    proxy_version="v0.7.0")), environ=ENVIRON)
    codes = {finding.code for finding in report.findings}
    assert {"secrets.missing", "accessory.not_running", "proxy.too_old", "lock.stale"} <= codes
    missing = next(finding for finding in report.findings if finding.code == "secrets.missing")
    assert "POSTGRES_PASSWORD" in missing.title
    not_running = next(finding for finding in report.findings if finding.code == "accessory.not_running")
    assert "shipdeck accessory boot db" in not_running.fix

    unreachable = await doctor.diagnose(FakeFleet(config, secrets(), status(config, reachable=False)),
                                        environ=ENVIRON)
    assert [finding.code for finding in unreachable.attention] == ["host.unreachable"]
    assert "Connection refused" in unreachable.attention[0].what


# ---------------------------------------------------------------- repairs

class FakeTargets:
    def __init__(self, config) -> None:
        self.accessory_hosts = list(config.all_hosts)
        self.app_hosts = list(config.app_hosts)

    def roles_on(self, host):
        return []


def run_for(config, secret_values) -> Run:
    run = Run(config=config, secrets=secret_values, pool={host: FakeRemote(host) for host in config.all_hosts},
              events=EventLog(), command="doctor", subcommand="repair")
    run.targets = FakeTargets(config)
    run.holding_lock = True  # the lock's own code is tested elsewhere
    return run


@pytest.mark.parametrize("secret", [PASSWORD, "back\\slash"])
async def test_the_reset_sends_a_verifier_of_the_received_password_on_stdin(config, monkeypatch, secret) -> None:
    docker = use(monkeypatch, FakeDocker({}, [ExecResult(2, "", REJECTED), ExecResult(0, "", ""),
                                              ExecResult(0, "1\n", "")]))
    monkeypatch.setattr(repairs.app_docker, "exec_in_container", docker.exec_in_container)
    run = run_for(config, FakeSecrets(POSTGRES_PASSWORD=secret))
    changed = await repairs.reset_password(run, "db", reboot=False)
    assert changed
    probe, alter, verify = docker.execs
    assert probe[3] == verify[3] == received_value(secret).encode() + b"\n"
    assert alter[2] == ("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-U", "postgres",
                        "-d", "postgres")
    sql = alter[3].decode()
    assert sql.startswith('ALTER ROLE "postgres" PASSWORD \'SCRAM-SHA-256$4096:')
    stored = sql.split("'")[1]
    assert scram.matches(received_value(secret), stored)
    assert secret not in sql and received_value(secret) not in sql
    for _, _, argv, _ in docker.execs:
        assert not any(secret in part or received_value(secret) in part for part in argv)


async def test_the_reset_changes_nothing_when_the_password_is_already_accepted(config, monkeypatch) -> None:
    docker = use(monkeypatch, FakeDocker({}, [ExecResult(0, "1\n", "")]))
    monkeypatch.setattr(repairs.app_docker, "exec_in_container", docker.exec_in_container)
    run = run_for(config, secrets())
    assert await repairs.reset_password(run, "db", reboot=False) is False
    assert len(docker.execs) == 1
    assert any(isinstance(event, Notice) and "already accepts" in event.message for event in run.events.events)


async def test_the_reset_refuses_when_the_database_cannot_be_reached(config, monkeypatch) -> None:
    docker = use(monkeypatch, FakeDocker({}, [ExecResult(2, "", "psql: error: Connection refused")]))
    monkeypatch.setattr(repairs.app_docker, "exec_in_container", docker.exec_in_container)
    with pytest.raises(ShipdeckError, match="nothing was changed"):
        await repairs.reset_password(run_for(config, secrets()), "db", reboot=False)
    assert len(docker.execs) == 1


async def test_a_wipe_is_refused_without_its_confirmation(config, monkeypatch, fake_home) -> None:
    docker = use(monkeypatch, FakeDocker({}))
    run = run_for(config, secrets())
    with pytest.raises(UsageError, match=r"--confirm=accessory\.wipe:db"):
        await repairs.backup_and_wipe(run, "db", environ=ENVIRON)
    assert docker.execs == []


def test_repair_ids() -> None:
    assert repairs.parse_repair_id("db-password") == ("db", "password")
    assert repairs.parse_repair_id("my-db-wipe") == ("my-db", "wipe")
    with pytest.raises(UsageError, match="unknown repair"):
        repairs.parse_repair_id("db-drop")


# ---------------------------------------------------------------- the CLI's part

def arguments(**values) -> argparse.Namespace:
    return argparse.Namespace(**{"repair": None, "confirm": [], "no_restore": False, "lines": 200, **values})


def test_the_cli_refuses_a_wipe_without_the_exact_confirmation() -> None:
    from app.cli.commands.doctor import check_arguments

    with pytest.raises(UsageError, match=r"--confirm=accessory\.wipe:db"):
        check_arguments(arguments(repair="db-wipe"))
    with pytest.raises(UsageError, match=r"given: --confirm=accessory\.wipe:redis"):
        check_arguments(arguments(repair="db-wipe", confirm=["accessory.wipe:redis"]))
    with pytest.raises(UsageError, match="--no-restore"):
        check_arguments(arguments(repair="db-password", no_restore=True))
    check_arguments(arguments(repair="db-wipe", confirm=["accessory.wipe:db"]))
    check_arguments(arguments(repair="db-password"))


async def test_the_cli_prints_what_where_why_and_the_repair_commands(config, monkeypatch, fake_home) -> None:
    from app.cli.commands.doctor import print_report

    use(monkeypatch, FakeDocker({"app-web-v1": [REJECTED]}, [ExecResult(2, "", REJECTED)]))
    fleet = FakeFleet(config, secrets(), status(config))
    report = await doctor.diagnose(fleet, environ=ENVIRON)
    out = io.StringIO()
    print_report(fleet, report, out)
    text = out.getvalue()
    assert "ERROR postgres.tainted_volume (db, on web1)" in text
    assert "$ shipdeck doctor --repair db-password\n" in text
    assert "$ shipdeck doctor --repair db-wipe --confirm=accessory.wipe:db\n" in text
    assert "need attention" in text
    assert PASSWORD not in text


async def test_a_finding_becomes_the_diagnosis_event_faces_render(config, monkeypatch, fake_home) -> None:
    use(monkeypatch, FakeDocker({"app-web-v1": [REJECTED]}, [ExecResult(2, "", REJECTED)]))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    finding = report.attention[0]
    event = doctor.diagnosis_event(finding)
    assert (event.code, event.host, event.target) == ("postgres.tainted_volume", "web1", "db")
    assert finding.why in event.detail
    assert any("docker exec -i app-db psql" in command for _, command in event.fixes)


async def test_rejections_only_in_the_servers_log_with_an_accepted_probe_blame_nobody(config, monkeypatch,
                                                                                      fake_home) -> None:
    use(monkeypatch, FakeDocker({"app-web-v1": ["Completed 200 OK"],
                                 "app-db": ['FATAL:  password authentication failed for user "postgres"']},
                                [ExecResult(0, "1\n", "")]))
    report = await doctor.diagnose(FakeFleet(config, secrets(), status(config)), environ=ENVIRON)
    assert report.healthy, [finding.code for finding in report.findings]
    assert any("was accepted over TCP" in check for check in report.checks)


@pytest.mark.parametrize("args", [("doctor", "--repair", "db-wipe"), ("--auto", "doctor", "--repair", "db-wipe"),
                                  ("doctor", "--repair", "db-wipe", "--confirm=accessory.wipe:dbx"),
                                  ("doctor", "--repair", "db-drop"), ("doctor", "--lines", "0")])
def test_bad_doctor_arguments_exit_2_with_one_clear_line(args, tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "app", *args], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "HOME": str(tmp_path)},
                            timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("shipdeck: ") and ("--confirm=accessory.wipe:db" in last or "repair" in last
                                              or "--lines" in last)
