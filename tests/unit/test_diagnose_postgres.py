"""Postgres accessories: data location, the probe's command, the repairs' exact commands, recogniser 1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.diagnose import postgres
from app.diagnose.findings import LOCAL, Repair, Step
from app.diagnose.postgres import DataKind, ProbeOutcome, ProbeResult
from app.diagnose.tainted_volume import needs_password_probe, recognise_tainted_volume, wipe_plan
from app.secrets import masking

from .diagnose_support import make_config

# Real lines: psql's error and the server's FATAL/DETAIL pair (PostgreSQL 15, scram-sha-256 host rule).
APP_LINE = ('psql: error: connection to server at "app-db" (172.18.0.3), port 5432 failed: FATAL:  password '
            'authentication failed for user "postgres"')
RAILS_LINE = ('ActiveRecord::ConnectionNotEstablished (connection to server at "172.18.0.3", port 5432 failed: '
              'FATAL:  password authentication failed for user "postgres")')
SERVER_LINES = [
    "PostgreSQL Database directory appears to contain a database; Skipping initialization",
    "2026-11-30 15:37:23.771 UTC [20920] FATAL:  password authentication failed for user \"postgres\"",
    '2026-11-30 15:37:23.771 UTC [20920] DETAIL:  Connection matched pg_hba.conf line 100: "host all all all '
    'scram-sha-256"',
]
GHOST_LINES = ['2026-11-30 15:37:23.831 UTC [20931] FATAL:  password authentication failed for user "app"',
               '2026-11-30 15:37:23.831 UTC [20931] DETAIL:  Role "app" does not exist.']


def db_config(tmp_path: Path, **db):
    accessory = {"image": "postgres:16", "host": "db1", "env": {"secret": ["POSTGRES_PASSWORD"]}, **db}
    return make_config(tmp_path, accessories={"db": accessory, "cache": {"image": "redis:7", "host": "db1"}})


def test_postgres_accessories_and_where_their_data_is(tmp_path: Path) -> None:
    config = db_config(tmp_path, directories=["data:/var/lib/postgresql/data"])
    db, cache = config.accessory("db"), config.accessory("cache")
    assert postgres.is_postgres(db) and not postgres.is_postgres(cache)
    location = postgres.data_location(db)
    assert (location.kind, location.source, location.mount) == (DataKind.DIRECTORY, "app-db/data",
                                                               "/var/lib/postgresql/data")
    assert location.describe() == "directory ~/app-db/data (mounted at /var/lib/postgresql/data)"
    images = ("postgres:16", "postgres:16.2-alpine", "pgvector/pgvector:pg17", "timescale/timescaledb:latest-pg15",
              "postgres", "postgres:latest", "postgis/postgis:16-3.4")
    assert [postgres.major_version(image) for image in images] == [16, 16, 17, 15, None, None, 16]


@pytest.mark.parametrize(("db", "kind", "source", "pgdata"), [
    ({"volumes": ["pgdata:/var/lib/postgresql/data"]}, DataKind.VOLUME, "pgdata", "/var/lib/postgresql/data"),
    ({"volumes": ["/srv/pg:/var/lib/postgresql"]}, DataKind.DIRECTORY, "/srv/pg", "/var/lib/postgresql/data"),
    ({"image": "postgres:18", "volumes": ["pg:/var/lib/postgresql"]}, DataKind.VOLUME, "pg",
     "/var/lib/postgresql/18/docker"),
    ({"image": "postgres:18", "directories": ["data:/var/lib/postgresql/data"]}, DataKind.ANONYMOUS, "",
     "/var/lib/postgresql/18/docker"),  # the PG 18 layout trap: that mount does not hold PGDATA
    ({"env": {"clear": {"PGDATA": "/pg/x"}, "secret": ["POSTGRES_PASSWORD"]}, "volumes": ["v:/pg"]},
     DataKind.VOLUME, "v", "/pg/x"),
    ({}, DataKind.ANONYMOUS, "", "/var/lib/postgresql/data"),
])
def test_data_location_variants(tmp_path: Path, db: dict, kind: DataKind, source: str, pgdata: str) -> None:
    location = postgres.data_location(db_config(tmp_path, **db).accessory("db"))
    assert (location.kind, location.source, location.pgdata) == (kind, source, pgdata)


def test_users_and_passwords_are_what_the_containers_receive(tmp_path: Path) -> None:
    config = db_config(tmp_path, env={"clear": {"POSTGRES_USER": "app"}, "secret": ["POSTGRES_PASSWORD:DB_PW"]})
    db = config.accessory("db")
    assert postgres.postgres_user(db) == "app"
    assert postgres.password_secret(db) == "DB_PW"
    assert postgres.container_password(db, {"DB_PW": "a\\b\nc"}) == "a\\\\b\\nc"
    assert postgres.container_password(db, {}) is None
    plain = db_config(tmp_path, env={"clear": {"POSTGRES_PASSWORD": "clear\\one"}}).accessory("db")
    assert postgres.postgres_user(plain) == "postgres"
    assert postgres.container_password(plain, {}) == "clear\\one"  # command-line values arrive unchanged


def test_probe_is_a_command_without_the_password(tmp_path: Path) -> None:
    db = db_config(tmp_path).accessory("db")
    probe = postgres.password_probe(db, "db1", "postgres")
    assert probe.step.where == "db1"
    assert probe.step.argv[:6] == ("docker", "exec", "-i", "app-db", "sh", "-c")
    script = probe.step.argv[6]
    assert "read -r PGPASSWORD" in script and "-h app-db -p 5432 -U postgres" in script
    assert probe.stdin("p@ss word") == b"p@ss word\n"
    with pytest.raises(ValueError):
        probe.stdin("two\nlines")
    sidecar = postgres.password_probe(db, "db1", "postgres", sidecar=True)
    assert sidecar.step.argv[:9] == ("docker", "run", "--rm", "-i", "--network", "kamal", "--entrypoint", "sh",
                                     "postgres:16")


@pytest.mark.parametrize(("status", "stdout", "stderr", "outcome"), [
    (0, "1\n", "", ProbeOutcome.ACCEPTED),
    (2, "", APP_LINE + "\n", ProbeOutcome.REJECTED),
    (2, "", 'psql: error: connection to server on socket failed: FATAL:  role "x" does not exist',
     ProbeOutcome.NO_ROLE),
    (2, "", 'psql: error: could not translate host name "app-db" to address: Name or service not known',
     ProbeOutcome.UNREACHABLE),
    (1, "", "Error response from daemon: No such container: app-db", ProbeOutcome.UNREACHABLE),
    (126, "", "OCI runtime exec failed: sh: executable file not found", ProbeOutcome.ERROR),
])
def test_probe_results(status: int, stdout: str, stderr: str, outcome: ProbeOutcome) -> None:
    assert postgres.interpret(status, stdout, stderr).outcome is outcome


def test_reset_and_wipe_commands(tmp_path: Path) -> None:
    config = db_config(tmp_path, directories=["data:/var/lib/postgresql/data"])
    db = config.accessory("db")
    plan = wipe_plan(config, db, "db1", "postgres", "/home/me/.local/state/shipdeck/backups/app/app-db.sql",
                     home="/home/deploy")
    commands = [step.command for step in plan.wipe.steps]
    assert commands == [
        "docker exec app-db pg_dumpall -h /var/run/postgresql -U postgres",
        "docker container stop app-db",
        "docker container rm --volumes app-db",
        "docker run --rm --user 0 --entrypoint find --volume /home/deploy/app-db/data:/wipe postgres:16 /wipe "
        "-mindepth 1 -delete",
        "shipdeck accessory boot db",
    ]
    assert plan.wipe.steps[0].stdout.startswith("/home/me/.local/state/shipdeck/backups/app/app-db.sql")
    assert plan.wipe.hosts == ("db1",) and plan.wipe.steps[-1].where == LOCAL
    assert [step.command for step in plan.restore.steps][:2] == [
        "docker exec -i app-db psql -X -q -h /var/run/postgresql -U postgres -d postgres",
        "docker exec -i app-db psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U postgres -d postgres",
    ]
    volume = db_config(tmp_path, volumes=["pgdata:/var/lib/postgresql/data"])
    volume_plan = wipe_plan(volume, volume.accessory("db"), "db1", "postgres", "/tmp/d.sql")
    assert volume_plan.wipe.steps[3].command == "docker volume rm pgdata"
    assert volume_plan.wipe.typed == "db1:pgdata"
    bind = db_config(tmp_path, volumes=["$PWD/pg:/var/lib/postgresql/data"])
    bind_plan = wipe_plan(bind, bind.accessory("db"), "db1", "postgres", "/tmp/d.sql", home="/home/deploy")
    assert "--volume /home/deploy/pg:/wipe" in bind_plan.wipe.steps[3].command
    assert [postgres.host_path(source, None) for source in ("/srv/pg", "~/pg", "${HOME}/pg", "pg")] == [
        "/srv/pg", "$HOME/pg", "$HOME/pg", "$HOME/pg"]
    anonymous = db_config(tmp_path)
    assert len(wipe_plan(anonymous, anonymous.accessory("db"), "db1", "postgres", "/tmp/d.sql").wipe.steps) == 4


def test_destructive_repairs_need_a_token_and_a_typed_target() -> None:
    with pytest.raises(ValueError):
        Repair(id="x", label="x", steps=(Step("h", ("rm", "-rf", "x")),), destructive=True, confirm="a:b")


def test_backup_paths_stay_out_of_the_project(tmp_path: Path) -> None:
    config = make_config(tmp_path, destination="staging", accessories={"db": {"image": "postgres:16", "host": "db1"}})
    directory = postgres.backup_dir(config, {}, "/home/me")
    assert directory == "/home/me/.local/state/shipdeck/backups/app-staging"
    state = postgres.backup_dir(config, {"XDG_STATE_HOME": "/state"}, "/home/me")
    assert state == "/state/shipdeck/backups/app-staging"
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dump = postgres.dump_path(directory, config.accessory("db"), "[::1]", when)
    assert dump == f"{directory}/app-db-___1_-20260102T030405Z.sql"
    assert postgres.app_boot_step(config).command == "shipdeck app boot -d staging"


def recognise(tmp_path: Path, probe: ProbeResult | None, app_lines=(APP_LINE,), accessory_lines=tuple(SERVER_LINES),
              **db):
    config = db_config(tmp_path, directories=["data:/var/lib/postgresql/data"], **db)
    return recognise_tainted_volume(config, config.accessory("db"), "db1", app_lines=list(app_lines),
                                    accessory_lines=list(accessory_lines), probe=probe, dump_path="/b/app-db.sql")


def test_tainted_volume_finding(tmp_path: Path) -> None:
    assert needs_password_probe([RAILS_LINE], []) and needs_password_probe([], SERVER_LINES)
    assert not needs_password_probe(["Listening on http://0.0.0.0:3000"], ["database system is ready"])
    finding = recognise(tmp_path, ProbeResult(ProbeOutcome.REJECTED, APP_LINE))
    assert finding.code == "postgres.tainted_volume" and (finding.host, finding.target) == ("db1", "db")
    assert "directory ~/app-db/data" in finding.what and "only when it initialises an empty data" in finding.why
    assert [repair.id for repair in finding.repairs] == ["db-password", "db-wipe"]
    reset, wipe = finding.repairs
    assert not reset.destructive and reset.steps[0].command.startswith("docker exec -i app-db psql")
    assert "SCRAM-SHA-256 verifier" in reset.steps[0].stdin and reset.steps[-1].command == "shipdeck app boot"
    assert wipe.destructive and (wipe.confirm, wipe.typed) == ("accessory.wipe:db", "db1:app-db/data")
    assert finding.evidence[0].endswith("Skipping initialization") and APP_LINE in finding.evidence


def test_other_probe_outcomes(tmp_path: Path) -> None:
    differs = recognise(tmp_path, ProbeResult(ProbeOutcome.ACCEPTED))
    assert differs.code == "postgres.app_password_differs" and not differs.repairs
    ghost = recognise(tmp_path, ProbeResult(ProbeOutcome.REJECTED), accessory_lines=GHOST_LINES,
                      env={"clear": {"POSTGRES_USER": "app"}, "secret": ["POSTGRES_PASSWORD"]})
    assert ghost.code == "postgres.user_changed" and "POSTGRES_USER was changed" in ghost.why
    assert recognise(tmp_path, ProbeResult(ProbeOutcome.UNREACHABLE)) is None
    assert recognise(tmp_path, None) is None
    assert recognise(tmp_path, ProbeResult(ProbeOutcome.REJECTED), app_lines=(), accessory_lines=()) is None
    redis = make_config(tmp_path, accessories={"db": {"image": "redis:7", "host": "db1"}})
    assert recognise_tainted_volume(redis, redis.accessory("db"), "db1", app_lines=[APP_LINE], accessory_lines=[],
                                    probe=ProbeResult(ProbeOutcome.REJECTED), dump_path="/b") is None


def test_evidence_is_masked(tmp_path: Path) -> None:
    masking.register("hunter2-secret")
    try:
        finding = recognise(tmp_path, ProbeResult(ProbeOutcome.REJECTED),
                            app_lines=(APP_LINE + " url=postgres://postgres:hunter2-secret@app-db/app",))
        assert all("hunter2-secret" not in line for line in finding.evidence)
        assert any(masking.MASK in line for line in finding.evidence)
    finally:
        masking.clear()
