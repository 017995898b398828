"""The SCRAM verifier, the probe and the repairs' commands against a real PostgreSQL server.

Each cluster is initialised with one password (like an accessory's first boot); the tests then take the
commands the repairs would run inside the container (minus `docker exec`, with this cluster's socket)
and check what Postgres makes of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import load_config
from app.diagnose import postgres, scram
from app.diagnose.env_delivery import received_value
from app.diagnose.findings import Step
from app.diagnose.postgres import ProbeOutcome
from app.diagnose.tainted_volume import needs_password_probe, recognise_tainted_volume, wipe_plan

from .conftest import SUPERUSER, Cluster

pytestmark = pytest.mark.slow


def without_docker_exec(step: Step) -> tuple[str, ...]:
    """The command a step runs inside the container: its argv after `docker exec [-i] <container>`."""
    argv = step.argv
    assert argv[:2] == ("docker", "exec"), argv
    rest = argv[2:]
    if rest[0] == "-i":
        rest = rest[1:]
    return rest[1:]


def set_password(cluster: Cluster, password: str, user: str = SUPERUSER) -> None:
    """What the in-place reset sends: `psql` over the socket, the verifier on stdin."""
    argv = cluster.local(postgres.psql_command(user))
    cluster.run(argv, stdin=scram.alter_role_payload(user, password))


def probe(cluster: Cluster, password: str, user: str = SUPERUSER, port: int | None = None) -> postgres.ProbeResult:
    script = postgres.probe_script("127.0.0.1", user, port or cluster.port)
    result = cluster.run(["sh", "-c", script], stdin=postgres.PasswordProbe.stdin(password), check=False)
    return postgres.interpret(result.returncode, result.stdout.decode(), result.stderr.decode())


PASSWORDS = [
    'plain-ascii "with" $quotes\\and`more`',
    "Caf\u00e9\u00a0\ufb01x\u00ad!",  # no-break space -> space, ligature -> fi (NFKC), soft hyphen -> nothing
    "bell\u0007and\u00e9",  # a prohibited control character next to non-ASCII: the raw bytes are hashed
    "abc\u05d0",  # Hebrew mixed with Latin fails SASLprep's bidi rule: raw bytes
]


def test_verifier_sent_on_stdin_lets_the_password_log_in_over_tcp(make_cluster) -> None:
    cluster = make_cluster("first-secret")
    assert cluster.tcp_login("first-secret").returncode == 0
    for password in PASSWORDS:
        set_password(cluster, password)
        stored = cluster.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'").strip()
        assert stored.startswith("SCRAM-SHA-256$4096:") and scram.matches(password, stored)
        ok = cluster.tcp_login(password)
        assert (ok.returncode, ok.stdout.decode().strip()) == (0, "postgres"), ok.stderr.decode()
        wrong = cluster.tcp_login(password + "x")
        assert wrong.returncode != 0
        assert b'password authentication failed for user "postgres"' in wrong.stderr
    assert cluster.tcp_login("first-secret").returncode != 0
    log = cluster.server_log()
    assert "ALTER ROLE \"postgres\" PASSWORD 'SCRAM-SHA-256$4096:" in log  # statements are logged...
    for password in PASSWORDS:
        assert password not in log  # ...but never a plaintext


def test_verifier_for_a_role_with_a_quote_in_its_name(make_cluster) -> None:
    cluster = make_cluster("first-secret")
    cluster.sql('CREATE ROLE "odd""name" LOGIN;')
    set_password(cluster, "s3cret", user=SUPERUSER)
    argv = cluster.local(postgres.psql_command(SUPERUSER))
    cluster.run(argv, stdin=scram.alter_role_payload('odd"name', "for-odd"))
    assert cluster.tcp_login("for-odd", user='odd"name').returncode == 0


def test_probe_script_outcomes(make_cluster) -> None:
    cluster = make_cluster("right-one")
    assert probe(cluster, "right-one").outcome is ProbeOutcome.ACCEPTED
    rejected = probe(cluster, "wrong-one")
    assert rejected.outcome is ProbeOutcome.REJECTED
    assert 'password authentication failed for user "postgres"' in rejected.detail
    # Over scram-sha-256 a missing role looks like a wrong password to the client; only the server says more.
    ghost = probe(cluster, "right-one", user="ghost")
    assert ghost.outcome is ProbeOutcome.REJECTED
    assert 'DETAIL:  Role "ghost" does not exist.' in cluster.server_log()
    refused = probe(cluster, "right-one", port=cluster.port + 1 if cluster.port < 65535 else cluster.port - 1)
    assert refused.outcome is ProbeOutcome.UNREACHABLE
    assert "right-one" not in cluster.server_log()


def make_config(tmp_path: Path):
    db = {"image": "postgres:15", "host": "db1", "directories": ["data:/var/lib/postgresql/data"],
          "env": {"secret": ["POSTGRES_PASSWORD"]}}
    deploy = {"service": "app", "image": "acme/app", "servers": ["web1"], "builder": {"arch": "amd64"},
              "registry": {"username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]}, "accessories": {"db": db}}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(deploy))
    return load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v1")


def test_tainted_volume_recognised_and_reset_with_the_password_the_containers_receive(make_cluster,
                                                                                        tmp_path: Path) -> None:
    cluster = make_cluster("the-first-password")  # the data directory's password
    cluster.sql("CREATE TABLE kept (v int); INSERT INTO kept SELECT generate_series(1, 50);")
    config = make_config(tmp_path)
    db = config.accessory("db")
    secret = "new\\pass"  # one backslash: the containers receive two
    receives = postgres.container_password(db, {"POSTGRES_PASSWORD": secret})
    assert receives == "new\\\\pass" == received_value(secret)

    first = probe(cluster, receives)
    app_line = f"web1 app-web-v1 | {first.detail}"  # what the app logs when its connection is refused
    accessory_lines = [line for line in cluster.server_log().splitlines() if "FATAL" in line or "DETAIL" in line]
    assert needs_password_probe([app_line], accessory_lines)
    finding = recognise_tainted_volume(config, db, "db1", app_lines=[app_line], accessory_lines=accessory_lines,
                                       probe=first, dump_path="/backups/app-db.sql")
    assert finding is not None and finding.code == "postgres.tainted_volume"
    assert "directory ~/app-db/data" in finding.what and finding.host == "db1" and finding.target == "db"
    assert any("FATAL:  password authentication failed" in line for line in finding.evidence)

    reset = finding.repair("db-password")
    inside = without_docker_exec(reset.steps[0])
    cluster.run(cluster.local(inside), stdin=scram.alter_role_payload(SUPERUSER, receives))
    assert probe(cluster, receives).outcome is ProbeOutcome.ACCEPTED
    assert probe(cluster, secret).outcome is ProbeOutcome.REJECTED  # the raw secret is not what the app sends
    assert cluster.sql("SELECT count(*) FROM kept").strip() == "50"  # no data touched
    log = cluster.server_log()
    assert receives not in log and secret not in log


def test_back_up_wipe_restore_keeps_every_row_and_ends_with_the_configured_password(make_cluster,
                                                                                     tmp_path: Path) -> None:
    old = make_cluster("old-password")
    old.sql("CREATE DATABASE appdb;")
    old.run([str(old.bin / "psql"), "-X", "-q", "-h", str(old.base), "-p", str(old.port), "-U", SUPERUSER,
             "-d", "appdb", "-v", "ON_ERROR_STOP=1"],
            stdin=b"CREATE TABLE orders (id int PRIMARY KEY, note text);"
                  b"INSERT INTO orders SELECT i, 'row ' || i FROM generate_series(1, 1000) i;")
    config = make_config(tmp_path)
    db = config.accessory("db")
    plan = wipe_plan(config, db, "db1", SUPERUSER, dump_path=str(tmp_path / "dump.sql"), home="/home/deploy")
    assert plan.wipe.destructive and plan.wipe.confirm == "accessory.wipe:db"
    assert plan.wipe.typed == "db1:app-db/data"

    dump = old.run(old.local(without_docker_exec(plan.wipe.steps[0])))
    assert b"INSERT INTO" not in dump.stdout  # pg_dumpall writes COPY ... FROM stdin
    assert b"COPY public.orders" in dump.stdout

    fresh = make_cluster("configured-password")  # the accessory booted afresh on an empty directory
    restored = fresh.run(fresh.local(without_docker_exec(plan.restore.steps[0])), stdin=dump.stdout)
    assert b'role "postgres" already exists' in restored.stderr  # expected, hence no ON_ERROR_STOP
    count = fresh.run([str(fresh.bin / "psql"), "-X", "-tA", "-h", str(fresh.base), "-p", str(fresh.port), "-U",
                       SUPERUSER, "-d", "appdb", "-c", "SELECT count(*), sum(id) FROM orders"])
    assert count.stdout.decode().strip() == "1000|500500"
    # The dump brought back the old verifier: this is why the restore repair sets the password again.
    assert fresh.tcp_login("old-password").returncode == 0
    reset = plan.restore.steps[1]
    fresh.run(fresh.local(without_docker_exec(reset)), stdin=scram.alter_role_payload(SUPERUSER,
                                                                                        "configured-password"))
    assert fresh.tcp_login("configured-password").returncode == 0
    assert fresh.tcp_login("old-password").returncode != 0
