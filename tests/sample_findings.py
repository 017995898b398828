"""A tainted-volume finding with its two repairs, shaped as the engine reports them, for the tests of every
face that shows findings (the dashboard's repair flow, `--auto`'s closing diagnosis)."""

from __future__ import annotations

from app.diagnose.findings import Finding, Repair, Step
from tests.tui.fake_fleet import JOBS  # the fake fleet's accessory host

DATA = f"{JOBS}:demo-db/data"
RESET = Repair(id="db-password", label="Reset the password in place",
               steps=(Step(where=JOBS, argv=("docker", "exec", "-i", "demo-db", "psql", "-U", "postgres"),
                           stdin="ALTER ROLE with the SCRAM verifier, computed here", purpose="reset"),),
               consequence="No data is touched; the app containers are rebooted.")
WIPE = Repair(id="db-wipe", label="Back up, then wipe", destructive=True, confirm="accessory.wipe:db", typed=DATA,
              steps=(Step(where=JOBS, argv=("rm", "-rf", "demo-db/data"), purpose="wipe"),),
              consequence="The data directory is deleted after the dump.")
TAINTED = Finding(code="postgres.tainted_volume", title="db: data directory initialised with another password",
                  what="The app cannot log in to db.", why="POSTGRES_PASSWORD applies only on first init.",
                  fix="Reset the password in place.", host=JOBS, target="db", repairs=(RESET, WIPE))
