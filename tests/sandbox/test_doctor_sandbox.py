"""`shipdeck doctor` on the sandbox: silent on a healthy project; a tainted Postgres volume (the accessory
rebooted with a new password over its old data directory) found, named and repaired in place without
losing a row and without any password in an argv or the output; back up, then wipe, only when confirmed.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.db_support import project_with_db, row_ids, taint, visit
from tests.sandbox.engine_support import Project, kamal
from tests.sandbox.ops_support import last_host, shipdeck_in

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
PASSWORDS: dict[str, str] = {}  # the database password the previous test left configured


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    with project_with_db(sandbox, tmp_path_factory.mktemp("doctor") / "demo") as made:
        yield made


def doctor(project: Project, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"POSTGRES_PASSWORD": password} if password else None
    return shipdeck_in(project, "doctor", *args, env=env, check=False, timeout=600)


class ArgvSampler:
    """`ps -eo args` on this machine and on the host, over and over, until stopped."""

    def __init__(self, sandbox: Sandbox, host: str) -> None:
        self.sandbox, self.host = sandbox, host
        self.samples: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
            self.samples.append(self.sandbox.run(self.host, "ps -eo args", check=False).stdout)
            time.sleep(0.05)

    def __enter__(self) -> ArgvSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_doctor_is_silent_on_a_healthy_project(project: Project) -> None:
    visit(project, 200)
    result = doctor(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Healthy" in result.stdout
    assert f"db on {last_host(project.sandbox)}: no rejected logins" in result.stdout


def test_a_tainted_volume_is_found_and_reset_in_place(project: Project) -> None:
    sandbox, host = project.sandbox, last_host(project.sandbox)
    old, new = sandbox.postgres_password, "n3w-" + os.urandom(8).hex()
    for _ in range(3):
        visit(project, 200)
    before = row_ids(project)
    assert len(before) >= 3
    taint(project, new)

    found = doctor(project, password=new)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"ERROR postgres.tainted_volume (db, on {host})" in found.stdout
    assert f"~/{project.service}-db/data" in found.stdout
    assert "$ shipdeck doctor --repair db-password" in found.stdout
    assert "--confirm=accessory.wipe:db" in found.stdout

    with ArgvSampler(sandbox, host) as sampler:
        repaired = doctor(project, "--repair", "db-password", password=new)
    output = repaired.stdout + repaired.stderr
    assert repaired.returncode == 0, output
    assert "Set the password of postgres in db" in output
    assert len(sampler.samples) >= 10, "the repair ran too briefly to be sampled"
    for sample in sampler.samples:
        assert old not in sample and new not in sample
    assert old not in output and new not in output
    server_log = sandbox.run(host, f"docker logs {project.service}-db 2>&1").stdout
    assert old not in server_log and new not in server_log

    visit(project, 200)
    after = row_ids(project)
    assert set(before) <= set(after) and len(after) > len(before)
    again = doctor(project, password=new)
    assert again.returncode == 0, again.stdout + again.stderr
    PASSWORDS["now"] = new


def test_back_up_then_wipe_needs_its_confirmation_and_restores_every_row(project: Project, tmp_path: Path) -> None:
    sandbox, host = project.sandbox, last_host(project.sandbox)
    current = PASSWORDS.get("now", sandbox.postgres_password)
    visit_env = {"POSTGRES_PASSWORD": current}
    shipdeck_in(project, "app", "boot", env=visit_env)
    visit(project, 200)
    before = row_ids(project)
    third = "th1rd-" + os.urandom(8).hex()
    taint(project, third)
    container = sandbox.run(host, f"docker inspect -f '{{{{.Id}}}}' {project.service}-db").stdout.strip()
    files = sandbox.run(host, f"ls -A {project.service}-db/data | wc -l").stdout.strip()

    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    for args in (("--repair", "db-wipe"), ("--repair", "db-wipe", "--confirm=accessory.wipe:redis")):
        refused = shipdeck_in(project, "doctor", *args, env={"POSTGRES_PASSWORD": third, **state}, check=False)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "--confirm=accessory.wipe:db" in refused.stderr
        assert sandbox.run(host, f"docker inspect -f '{{{{.Id}}}}' {project.service}-db").stdout.strip() == container
        assert sandbox.run(host, f"ls -A {project.service}-db/data | wc -l").stdout.strip() == files
    assert not (tmp_path / "state").exists()

    wiped = shipdeck_in(project, "doctor", "--repair", "db-wipe", "--confirm=accessory.wipe:db",
                        env={"POSTGRES_PASSWORD": third, **state}, check=False, timeout=900)
    output = wiped.stdout + wiped.stderr
    assert wiped.returncode == 0, output
    dumps = list((tmp_path / "state" / "shipdeck" / "backups").rglob("*.sql"))
    assert len(dumps) == 1, dumps
    assert f"{dumps[0]}: {dumps[0].stat().st_size} bytes" in output
    assert oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    assert "CREATE TABLE public.visits" in dumps[0].read_text()
    assert sandbox.run(host, f"docker inspect -f '{{{{.Id}}}}' {project.service}-db").stdout.strip() != container
    assert "Skipping initialization" not in sandbox.run(host, f"docker logs {project.service}-db 2>&1").stdout
    assert row_ids(project) == before
    visit(project, 200)
    assert third not in output and current not in output


def test_a_stale_lock_is_found_and_a_fresh_one_is_not(project: Project) -> None:
    """A lock a crashed deploy left two hours ago is reported with its holder and age; one taken a moment
    ago may belong to a deploy still running and is not."""
    import base64

    sandbox, host = project.sandbox, last_host(project.sandbox)
    password = {"POSTGRES_PASSWORD": PASSWORDS.get("now", sandbox.postgres_password)}
    details = f".kamal/lock-{project.service}/details"
    kamal(project, "lock", "acquire", "-m", "deploying by hand")
    try:
        fresh = shipdeck_in(project, "doctor", env=password, check=False)
        assert "lock.stale" not in fresh.stdout, fresh.stdout
        text = base64.b64decode(sandbox.run(host, f"cat {details}").stdout).decode()
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7200))
        text = "\n".join(line.rsplit(" at ", 1)[0] + f" at {old}" if line.startswith("Locked by:") else line
                         for line in text.splitlines())
        sandbox.run(host, f"base64 -d > {details}", input=base64.b64encode(text.encode()).decode())
        stale = shipdeck_in(project, "doctor", env=password, check=False)
        assert stale.returncode == 1, stale.stdout + stale.stderr
        assert "A deploy lock from 2 h 0 min ago is still in place" in stale.stdout, stale.stdout
        assert "deploying by hand" in stale.stdout and "lock release" in stale.stdout
    finally:
        kamal(project, "lock", "release")
    assert shipdeck_in(project, "doctor", env=password, check=False).returncode == 0


def test_an_outdated_kamal_proxy_is_found(project: Project) -> None:
    sandbox, host = project.sandbox, last_host(project.sandbox)
    password = {"POSTGRES_PASSWORD": PASSWORDS.get("now", sandbox.postgres_password)}
    sandbox.run(host, "docker rm -f kamal-proxy >/dev/null 2>&1; docker run --detach --name kamal-proxy "
                      "--network kamal basecamp/kamal-proxy:v0.8.4 >/dev/null")
    try:
        found = shipdeck_in(project, "doctor", env=password, check=False)
        assert found.returncode == 1, found.stdout + found.stderr
        assert "proxy.too_old" in found.stdout and "v0.8.4" in found.stdout, found.stdout
        assert "proxy reboot" in found.stdout
    finally:
        sandbox.run(host, "docker rm -f kamal-proxy >/dev/null 2>&1", check=False)
        shipdeck_in(project, "proxy", "boot", env=password)
        shipdeck_in(project, "app", "boot", env=password)  # its route back in the new proxy
