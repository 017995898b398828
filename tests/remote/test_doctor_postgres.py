"""The Postgres probe and repairs against a real `postgres:15` container on this machine's engine, reached as
a host is (loopback sshd, the docker socket forwarded): a data directory initialised with one password
rejects another over TCP; the reset in place makes the configured one work without touching a row; the
dump streams every row into a 0600 file; no password is ever in a process's argv."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.diagnose.postgres import ProbeOutcome
from app.engine import repairs
from app.engine.doctor import probe_password
from app.engine.events import EventLog
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote.host import RemoteHost
from app.remote.ssh import SSHTarget
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker
from tests.unit.diagnose_support import make_config

run_id, test_network = fixtures.run_id, fixtures.test_network
IMAGE = "postgres:15"
FIRST, CONFIGURED = "first-Pa55word", "configured-Pa55word"


class Secrets(dict):
    pass


@pytest.fixture
async def remote(loopback_sshd) -> AsyncIterator[RemoteHost]:
    host = RemoteHost(SSHTarget(host="127.0.0.1", port=loopback_sshd.port, keys=(str(loopback_sshd.client_key),),
                                keys_only=True, config=False, known_hosts=(str(loopback_sshd.known_hosts),)))
    yield host
    await host.close()


@pytest.fixture
def database(run_id: str, test_network: str, tmp_path: Path):
    """A Postgres container initialised with FIRST, with a table of rows; its accessory config says CONFIGURED."""
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} is needed on this machine's engine (the sandbox images provide it)")
    service = f"{run_id}pg{tmp_path.name[-6:].replace('_', '')}".lower()
    name = f"{service}-db"
    password_file = tmp_path / "first.env"
    password_file.write_text(f"POSTGRES_PASSWORD={FIRST}\n")
    docker("run", "-d", "--name", name, "--network", test_network, "--env-file", str(password_file), IMAGE)
    try:
        for _ in range(120):
            ready = docker("exec", name, "psql", "-U", "postgres", "-h", "127.0.0.1", "-Atc", "SELECT 1",
                           check=False)
            if ready.returncode == 0:
                break
            subprocess.run(["sleep", "0.5"], check=True)
        docker("exec", name, "psql", "-U", "postgres", "-q", "-c",
               "CREATE TABLE visits (id serial PRIMARY KEY); INSERT INTO visits SELECT FROM generate_series(1, 50)")
        config = make_config(tmp_path, service=service, accessories={"db": {
            "image": IMAGE, "host": "web1", "env": {"secret": ["POSTGRES_PASSWORD"]},
            "directories": ["data:/var/lib/postgresql/data"]}})
        yield config, name
    finally:
        docker("rm", "-f", "-v", name, check=False)


def sample_argv(samples: list[str], stop: asyncio.Event) -> asyncio.Task:
    async def loop() -> None:
        while not stop.is_set():
            process = await asyncio.create_subprocess_exec("ps", "-eo", "args", stdout=subprocess.PIPE)
            samples.append((await process.communicate())[0].decode())
            await asyncio.sleep(0.02)

    return asyncio.ensure_future(loop())


def run_for(config, remote: RemoteHost) -> Run:
    run = Run(config=config, secrets=Secrets(POSTGRES_PASSWORD=CONFIGURED), pool={"web1": remote},
              events=EventLog(), command="doctor", subcommand="repair")

    class Targets:
        accessory_hosts = ["web1"]
        app_hosts: list[str] = []

        def roles_on(self, host):
            return []

    run.targets = Targets()
    run.holding_lock = True
    return run


async def test_probe_reset_and_dump_against_a_real_postgres(database, remote: RemoteHost, tmp_path: Path) -> None:
    config, name = database
    accessory = config.accessory("db")
    assert (await probe_password(remote, accessory, "postgres", CONFIGURED)).outcome is ProbeOutcome.REJECTED
    assert (await probe_password(remote, accessory, "postgres", FIRST)).outcome is ProbeOutcome.ACCEPTED

    samples: list[str] = []
    stop = asyncio.Event()
    sampler = sample_argv(samples, stop)
    try:
        changed = await repairs.reset_password(run_for(config, remote), "db", reboot=False)
    finally:
        stop.set()
        await sampler
    assert changed
    assert samples and not any(CONFIGURED in sample or FIRST in sample for sample in samples)
    assert (await probe_password(remote, accessory, "postgres", CONFIGURED)).outcome is ProbeOutcome.ACCEPTED
    assert (await probe_password(remote, accessory, "postgres", FIRST)).outcome is ProbeOutcome.REJECTED
    count = docker("exec", name, "psql", "-U", "postgres", "-Atc", "SELECT count(*) FROM visits").stdout.strip()
    assert count == "50"
    server_log = docker("logs", name).stdout + docker("logs", name).stderr
    assert CONFIGURED not in server_log and FIRST not in server_log

    # Already accepted: nothing is sent.
    assert await repairs.reset_password(run_for(config, remote), "db", reboot=False) is False

    path = tmp_path / "backups" / "db.sql"
    size = await repairs.dump(run_for(config, remote), accessory, "web1", "postgres", str(path))
    assert size == path.stat().st_size > 0 and oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "CREATE TABLE public.visits" in text and "COPY public.visits (id) FROM stdin;" in text
    assert text.split("COPY public.visits (id) FROM stdin;\n", 1)[1].split("\\.", 1)[0].split() == \
        [str(number) for number in range(1, 51)]
    with pytest.raises(ShipdeckError, match="File exists"):  # a dump is never overwritten
        await repairs.dump(run_for(config, remote), accessory, "web1", "postgres", str(path))
