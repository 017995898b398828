"""The tainted-volume diagnosis and both repairs, run with their exact docker commands against postgres:15.

On this machine's engine (unique names, removed afterwards): an accessory initialised with one password is
booted again with another secret, as after a secret change. The probe, the in-place reset, and the
back-up-then-wipe-then-restore run the argv the repairs describe, with the password on stdin only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from app import contract
from app.config import load_config
from app.diagnose import postgres, scram
from app.diagnose.findings import LOCAL, Step
from app.diagnose.postgres import ProbeOutcome
from app.diagnose.tainted_volume import recognise_tainted_volume, wipe_plan

from .conftest import Docker, docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
READY = "database system is ready to accept connections"
FIRST, CONFIGURED = "first-secret", "new\\secret"  # the configured one holds a backslash


def run(step: Step, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert step.where != LOCAL
    return subprocess.run(step.argv, input=stdin, capture_output=True, timeout=120, check=False)


def boot(engine: Docker, config, home: Path, secret: str, *, count: int = 1) -> str:
    """What `accessory boot` does for this accessory: the env file Kamal writes, the directory mounted."""
    db = config.accessory("db")
    env_file = home / "db.env"
    env_file.write_text(contract.env_file_content({"POSTGRES_PASSWORD": secret}))
    directory = db.directories[0]
    name = engine.run("db", "--network", db.network, "--env-file", str(env_file),
                      "--volume", f"{home}/{directory.volume_host_path}:{directory.remote}", db.image)
    assert name == db.service_name
    engine.wait_for_log(name, READY, count=count)
    return name


def probe(db, user: str, password: str, sidecar: bool = False) -> postgres.ProbeResult:
    check = postgres.password_probe(db, "db1", user, sidecar=sidecar)
    result = run(check.step, check.stdin(password))
    return postgres.interpret(result.returncode, result.stdout.decode(), result.stderr.decode())


def rows(name: str) -> str:
    return docker("exec", name, "psql", "-U", "postgres", "-d", "shop", "-tAc", "SELECT count(*) FROM orders").stdout


def test_tainted_volume_found_reset_in_place_then_backed_up_wiped_and_restored(engine: Docker,
                                                                               tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "app-db").mkdir(parents=True)
    network = engine.network()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump({
        "service": "app", "image": "acme/app", "servers": ["web1"], "builder": {"arch": "amd64"},
        "registry": {"username": "u", "password": ["PW"]},
        "accessories": {"db": {"service": engine.name("db"), "image": "postgres:15", "host": "db1",
                               "network": network, "directories": ["data:/var/lib/postgresql/data"],
                               "env": {"secret": ["POSTGRES_PASSWORD"]}}}}))
    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v1")
    db = config.accessory("db")
    (home / db.service_name).mkdir()

    name = boot(engine, config, home, FIRST, count=2)  # first start: initdb with FIRST
    docker("exec", "-i", name, "psql", "-q", "-U", "postgres", stdin="CREATE DATABASE shop;")
    docker("exec", "-i", name, "psql", "-q", "-U", "postgres", "-d", "shop", stdin=
           "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 250);")
    docker("rm", "--force", name)
    engine.containers.remove(name)
    name = boot(engine, config, home, CONFIGURED)  # the secret changed; the directory keeps FIRST

    receives = postgres.container_password(db, {"POSTGRES_PASSWORD": CONFIGURED})
    user = postgres.postgres_user(db)
    rejected = probe(db, user, receives, sidecar=True)  # the app's point of view: another container
    assert rejected.outcome is ProbeOutcome.REJECTED
    finding = recognise_tainted_volume(config, db, "db1", app_lines=[rejected.detail],
                                       accessory_lines=engine.logs(name).splitlines(), probe=probe(db, user, receives),
                                       dump_path=str(tmp_path / "dump.sql"), home=str(home))
    assert finding is not None and finding.code == "postgres.tainted_volume"
    assert f"directory ~/{db.service_name}/data" in finding.what
    for repair in finding.repairs:
        for step in repair.steps:
            assert CONFIGURED not in step.command and receives not in step.command and FIRST not in step.command

    # In place: the verifier on stdin through docker exec -i psql; no data touched.
    reset = finding.repair("db-password")
    done = run(reset.steps[0], scram.alter_role_payload(user, receives))
    assert done.returncode == 0, done.stderr
    assert probe(db, user, receives, sidecar=True).outcome is ProbeOutcome.ACCEPTED
    assert probe(db, user, CONFIGURED).outcome is ProbeOutcome.REJECTED  # the raw secret is not what apps get
    assert rows(name).strip() == "250"
    assert receives not in engine.logs(name) and CONFIGURED not in engine.logs(name)

    # Back up, wipe, boot afresh, restore.
    plan = wipe_plan(config, db, "db1", user, str(tmp_path / "dump.sql"), home=str(home))
    dump = run(plan.wipe.steps[0])
    assert dump.returncode == 0 and b"COPY public.orders" in dump.stdout
    (tmp_path / "dump.sql").write_bytes(dump.stdout)
    for step in plan.wipe.steps[1:-1]:
        result = run(step)
        assert result.returncode == 0, (step.command, result.stderr)
    engine.containers.remove(name)
    assert list((home / db.service_name / "data").iterdir()) == []  # emptied, the mount point kept
    assert plan.wipe.steps[-1].command == "shipdeck accessory boot db"
    name = boot(engine, config, home, CONFIGURED, count=2)  # fresh init with the configured password
    assert probe(db, user, receives).outcome is ProbeOutcome.ACCEPTED
    restored = run(plan.restore.steps[0], (tmp_path / "dump.sql").read_bytes())
    assert restored.returncode == 0 and rows(name).strip() == "250"
    # (the dump carries the verifier the role had when it was taken; tests/postgres shows an old one coming back)
    again = run(plan.restore.steps[1], scram.alter_role_payload(user, receives))
    assert again.returncode == 0, again.stderr
    assert probe(db, user, receives, sidecar=True).outcome is ProbeOutcome.ACCEPTED
    assert probe(db, user, FIRST).outcome is ProbeOutcome.REJECTED
