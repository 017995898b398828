"""`--auto`: a run that failed on a step ends with the diagnosis, each finding with the command that repairs it;
failures a diagnosis cannot explain (connection, lock, confirmation) do not wait for one."""

from __future__ import annotations

from app.cli.session import _a_step_failed, _diagnose_failure
from app.engine import api
from app.engine.lock import LockError
from app.errors import ShipdeckError
from app.remote.errors import HostUnreachable
from tests.sample_findings import TAINTED


class ReportingFleet:
    def __init__(self, report: api.DiagnosisReport | Exception) -> None:
        self.report = report

    async def diagnose(self) -> api.DiagnosisReport:
        if isinstance(self.report, Exception):
            raise self.report
        return self.report


async def test_the_findings_end_the_log_with_their_repair_commands() -> None:
    seen: list[api.Event] = []
    await _diagnose_failure(ReportingFleet(api.DiagnosisReport(taken_at=0.0, findings=(TAINTED,))), (seen.append,))
    assert [type(event).__name__ for event in seen] == ["Diagnosis"]
    event = seen[0]
    assert event.code == "postgres.tainted_volume" and event.target == "db"
    assert dict(event.fixes) == {
        "Reset the password in place": "shipdeck --auto doctor --repair db-password",
        "Back up, then wipe": "shipdeck --auto doctor --repair db-wipe --confirm=accessory.wipe:db",
    }


async def test_a_failing_diagnosis_leaves_the_runs_own_error_alone() -> None:
    seen: list[api.Event] = []
    await _diagnose_failure(ReportingFleet(RuntimeError("no")), (seen.append,))
    assert seen == []


def test_only_a_failed_step_is_diagnosed() -> None:
    assert _a_step_failed(ShipdeckError("web: target failed to become healthy"))
    assert not _a_step_failed(HostUnreachable("10.0.0.1", "cannot connect to port 22: Connection refused"))
    assert not _a_step_failed(LockError("Deploy lock found"))
