"""The installed `shipdeck` binary in a real terminal (tmux), on a tainted Postgres volume: the dashboard
flags the accessory, R offers the in-place reset, its confirmation shows what runs where, and after it the
app is healthy again with every row kept."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fleet import Sandbox
from tests.sandbox.db_support import project_with_db, row_ids, taint, visit
from tests.sandbox.engine_support import Project, lock_exists
from tests.sandbox.ops_support import last_host
from tests.sandbox.terminal_support import SHIPDECK, Terminal

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]



def footer(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    with project_with_db(sandbox, tmp_path_factory.mktemp("repair-terminal") / "demo") as made:
        yield made


def test_the_dashboard_walks_from_the_flagged_accessory_through_the_reset_to_a_healthy_app(
        project: Project, tmp_path) -> None:
    for _ in range(3):
        visit(project, 200)
    before = row_ids(project)
    new = "t3rm-" + os.urandom(8).hex()
    taint(project, new)  # the app cannot log in any more

    env = {**project.sandbox.env({"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
                                  "XDG_CONFIG_HOME": str(tmp_path / "config")}),
           "POSTGRES_PASSWORD": new}  # the changed secret, as the operator now has it
    terminal = Terminal(SHIPDECK, project.path, env)
    try:
        terminal.wait_for(lambda s: "Repair" in footer(s), 120, "the repair key in the footer (a finding)")
        terminal.keys("2")  # the accessories table: db is flagged
        terminal.keys("R")
        terminal.wait_for(lambda s: "Which repair?" in s and "password of db in place" in s, 20, "the choice")
        terminal.keys("Enter")  # the reset comes first: it deletes nothing
        screen = terminal.wait_for(lambda s: "docker exec -i" in s and "psql" in s, 20, "the reset's confirmation")
        assert last_host(project.sandbox) in screen and new not in screen
        terminal.keys("Tab")  # from Cancel (the initial focus) to Repair
        terminal.keys("Enter")
        terminal.wait_for(lambda s: ": done in" in s or "doctor: done" in s, 300, "the repair to finish")
        visit(project, 200)  # the app logs in again
        assert set(before) <= set(row_ids(project))
        terminal.wait_for(lambda s: "Repair" not in footer(s), 60, "nothing left to repair")
        terminal.keys("q")
        screen = terminal.wait_for(lambda s: terminal.exit_status() is not None, 30, "the dashboard to quit")
        assert terminal.exit_status() == 0, screen
        assert new not in screen
    finally:
        terminal.close()
    assert not lock_exists(project)
