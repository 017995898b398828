"""postgres:15 keeps the official image's entrypoint semantics (password only on an empty PGDATA)."""

from __future__ import annotations

import pytest

from .conftest import Docker, docker

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
READY = "database system is ready to accept connections"


def psql_over_tcp(engine: Docker, network: str, host: str, password: str, sql: str = "SELECT current_user"):
    """psql from a second container on the same network, authenticating with `password` (scram)."""
    return engine.exec(engine.run(f"client-{len(engine.containers)}", "--network", network,
                                  "--entrypoint", "sleep", "postgres:15", "60"),
                       "env", f"PGPASSWORD={password}", "psql", "-h", host, "-U", "postgres", "-tAc", sql,
                       check=False)


def test_password_applies_only_to_an_empty_data_directory(engine: Docker) -> None:
    network = engine.network()
    volume = engine.volume("pgdata")
    mount = f"{volume}:/var/lib/postgresql/data"
    first = engine.run("db", "--network", network, "-v", mount, "-e", "POSTGRES_PASSWORD=first-secret",
                       "postgres:15")
    logs = engine.wait_for_log(first, READY, count=2)  # the temporary init server, then the real one
    assert "PostgreSQL init process complete; ready for start up." in logs
    ok = psql_over_tcp(engine, network, first, "first-secret")
    assert (ok.returncode, ok.stdout.strip()) == (0, "postgres")
    wrong = psql_over_tcp(engine, network, first, "not-it")
    assert wrong.returncode != 0
    assert 'password authentication failed for user "postgres"' in wrong.stderr

    # Local connections are trusted: SQL on stdin through docker exec -i needs no password.
    local = engine.exec(first, "psql", "-U", "postgres", "-tA", stdin="CREATE TABLE kept (v int); "
                        "INSERT INTO kept VALUES (7); SELECT v FROM kept;")
    assert local.stdout.strip().splitlines()[-1] == "7"

    assert engine.stop_seconds(first) < 5
    second = engine.run("db2", "--network", network, "-v", mount, "-e", "POSTGRES_PASSWORD=second-secret",
                        "postgres:15")
    logs = engine.wait_for_log(second, READY)
    assert "PostgreSQL Database directory appears to contain a database; Skipping initialization" in logs
    rejected = psql_over_tcp(engine, network, second, "second-secret")
    assert rejected.returncode != 0
    assert (f'connection to server at "{second}"' in rejected.stderr
            and 'FATAL:  password authentication failed for user "postgres"' in rejected.stderr)
    still = psql_over_tcp(engine, network, second, "first-secret", "SELECT v FROM kept")
    assert (still.returncode, still.stdout.strip()) == (0, "7")


def test_uninitialized_without_password_refuses_to_start(engine: Docker) -> None:
    result = engine.run("nopw", "postgres:15")
    logs = engine.wait_for_log(result, "superuser password is not specified")
    assert "Error: Database is uninitialized and superuser password is not specified." in logs
    assert docker("wait", result).stdout.strip() == "1"
    both = engine.run("both", "-e", "POSTGRES_PASSWORD=x", "-e", "POSTGRES_PASSWORD_FILE=/etc/hostname",
                      "postgres:15")
    assert "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set" in engine.wait_for_log(both, "exclusive")


def test_user_db_file_secret_and_initdb_args(engine: Docker) -> None:
    network = engine.network()
    db = engine.run("custom", "--network", network, "-e", "POSTGRES_USER=app", "-e", "POSTGRES_DB=appdb",
                    "-e", "POSTGRES_PASSWORD_FILE=/run/pw", "-e", "POSTGRES_INITDB_ARGS=--data-checksums",
                    "--entrypoint", "bash", "postgres:15", "-c",
                    "printf 'from-a-file' > /run/pw && exec docker-entrypoint.sh postgres")
    engine.wait_for_log(db, READY, count=2)
    client = engine.run("client", "--network", network, "--entrypoint", "sleep", "postgres:15", "60")
    result = engine.exec(client, "env", "PGPASSWORD=from-a-file", "psql", "-h", db, "-U", "app", "-d", "appdb",
                         "-tAc", "SELECT current_database() || ' ' || current_setting('data_checksums')")
    assert result.stdout.strip() == "appdb on"
    hba = engine.exec(db, "cat", "/var/lib/postgresql/data/pg_hba.conf").stdout
    assert hba.rstrip().splitlines()[-1] == "host all all all scram-sha-256"
    assert "listen_addresses = '*'" in engine.exec(db, "cat", "/var/lib/postgresql/data/postgresql.conf").stdout


def test_image_metadata_and_tools(engine: Docker) -> None:
    config = engine.inspect("postgres:15")["Config"]
    assert config["StopSignal"] == "SIGINT"
    assert "5432/tcp" in config["ExposedPorts"]
    assert "/var/lib/postgresql/data" in config["Volumes"]
    assert "PGDATA=/var/lib/postgresql/data" in config["Env"]
    db = engine.run("meta", "-e", "POSTGRES_PASSWORD=x", "postgres:15")
    engine.wait_for_log(db, READY, count=2)
    assert engine.exec(db, "ps", "-o", "user=", "-p", "1").stdout.strip() == "postgres"
    dump = engine.exec(db, "pg_dumpall", "-U", "postgres", "--roles-only")
    assert "CREATE ROLE postgres" in dump.stdout
    assert engine.stop_seconds(db) < 5
