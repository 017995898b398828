"""`shipdeck accessory ...` on the sandbox, compared with real Kamal 2.11 on the same host."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import cleanup, kamal, shipdeck
from tests.sandbox.ops_support import (
    audit_lines,
    diff,
    last_host,
    normalised_inspect,
    project_on_last_host,
    shipdeck_in,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal, pytest.mark.slow]


def db_accessory(host: str) -> dict:
    return {"db": {"image": "postgres:15", "host": host, "env": {"clear": {"PGDATA_NOTE": "a $b \"c\""},
                                                                 "secret": ["POSTGRES_PASSWORD"]},
                   "directories": ["data:/var/lib/postgresql/data", {"local": "extra", "remote": "/extra",
                                                                     "mode": "0700"}],
                   "files": ["config/init.sql.erb:/docker-entrypoint-initdb.d/init.sql",
                             {"local": "config/note.txt", "remote": "/etc/note.txt", "mode": "0640"}]}}


DB_FILES = {"config/init.sql.erb": "-- note: <%= ENV['PGDATA_NOTE'] %>\nselect 1;\n",
            "config/note.txt": "plain file\n"}


def test_accessory_boot_leaves_the_host_as_kamal_does(sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)
    by_kamal = project_on_last_host(sandbox, tmp_path / "k", accessories=db_accessory(host), files=DB_FILES)
    by_shipdeck = project_on_last_host(sandbox, tmp_path / "s", accessories=db_accessory(host), files=DB_FILES)
    k_db, s_db = f"{by_kamal.service}-db", f"{by_shipdeck.service}-db"
    try:
        kamal(by_kamal, "accessory", "boot", "db")
        began = time.monotonic()
        shipdeck(by_shipdeck, "accessory", "boot", "db")
        print(f"shipdeck accessory boot db: {time.monotonic() - began:.2f}s")

        difference = diff(normalised_inspect(sandbox, host, k_db, (by_kamal.service,)),
                          normalised_inspect(sandbox, host, s_db, (by_shipdeck.service,)))
        assert difference == "", difference
        files = {}
        for project in (by_kamal, by_shipdeck):
            env = f".kamal/apps/{project.service}/env/accessories/db.env"
            base = f"{project.service}-db"
            files[project.service] = sandbox.run(
                host, f"stat -c '%a %U %n' {env} {base} {base}/data {base}/extra {base}/etc/note.txt "
                      f"{base}/docker-entrypoint-initdb.d/init.sql | sed 's/demo[0-9a-f]*/SERVICE/g'; "
                      f"cat {env} {base}/etc/note.txt {base}/docker-entrypoint-initdb.d/init.sql").stdout
        assert files[by_kamal.service] == files[by_shipdeck.service]
        assert files[by_shipdeck.service].startswith("600 root .kamal/apps/SERVICE/env/accessories/db.env\n")
        assert "-- note: a $b \"c\"\nselect 1;\n" in files[by_shipdeck.service]
        assert audit_lines(sandbox, host, by_shipdeck.service)[-1].endswith("Booted db accessory")

        again = shipdeck(by_shipdeck, "accessory", "boot", "db").stdout
        assert f"Skipping booting `db` on {host}, a container already exists" in again
        assert s_db in kamal(by_shipdeck, "accessory", "details", "db").stdout
        assert s_db in shipdeck(by_shipdeck, "accessory", "details", "db").stdout

        answer = ""
        for _ in range(40):  # postgres needs a few seconds to accept connections
            result = shipdeck_in(by_shipdeck, "accessory", "exec", "db", "-i", "--reuse", "psql -U postgres -At",
                                 check=False, input="select 6 * 7;\n")
            answer = result.stdout + result.stderr
            if result.returncode == 0 and "42" in result.stdout:
                break
            time.sleep(0.5)
        assert "42" in answer, answer
        assert "Executed cmd 'psql -U postgres -At' on db accessory" in audit_lines(sandbox, host,
                                                                                       by_shipdeck.service)[-1]
        logs = shipdeck(by_shipdeck, "accessory", "logs", "db", "-n", "20").stdout
        assert "database system is ready to accept connections" in logs
    finally:
        cleanup(by_kamal)
        cleanup(by_shipdeck)


def test_accessory_remove_needs_the_flag_and_then_removes_everything(sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)
    accessories = {"cache": {"image": sandbox.probe_image, "host": host, "cmd": "/bin/sleep 600",
                             "directories": ["data:/data"]}}
    project = project_on_last_host(sandbox, tmp_path / "p", accessories=accessories)
    name = f"{project.service}-cache"
    try:
        shipdeck(project, "accessory", "boot", "cache")
        sandbox.run(host, f"echo keep > {name}/data/file")
        shipdeck(project, "accessory", "stop", "cache")
        assert sandbox.run(host, f"docker inspect -f '{{{{.State.Running}}}}' {name}").stdout.strip() == "false"
        shipdeck(project, "accessory", "start", "cache")
        assert sandbox.run(host, f"docker inspect -f '{{{{.State.Running}}}}' {name}").stdout.strip() == "true"

        refused = shipdeck(project, "accessory", "remove", "cache", check=False)
        assert refused.returncode == 2
        assert "--confirm=accessory.remove:cache" in refused.stdout + refused.stderr
        assert sandbox.run(host, f"docker inspect -f '{{{{.State.Running}}}}' {name}").stdout.strip() == "true"
        assert sandbox.run(host, f"cat {name}/data/file").stdout == "keep\n"

        shipdeck(project, "accessory", "remove", "cache", "--confirm=accessory.remove:cache")
        assert sandbox.run(host, f"docker ps -aq --filter label=service={name}").stdout.strip() == ""
        assert sandbox.run(host, f"docker image inspect {sandbox.probe_image}", check=False).returncode != 0
        assert sandbox.run(host, f"test -e {name}", check=False).returncode != 0
        assert audit_lines(sandbox, host, project.service)[-2:] == [
            "Remove cache accessory container", "Removed cache accessory image"]
    finally:
        cleanup(project)
        sandbox.run(host, f"docker rm -f {name} >/dev/null 2>&1; rm -rf {name}; true", check=False)
