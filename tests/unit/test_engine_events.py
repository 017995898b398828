"""Events mask secrets; headless confirmations never prompt and name the flag."""

from __future__ import annotations

import pytest

from app.engine.confirm import ConfirmationRefused, ConfirmationRequest, Effect, FlagConfirmer, describe
from app.engine.events import Diagnosis, EventLog, Notice, Output, Rows, StepFinished, StepStatus
from app.secrets import masking


@pytest.fixture(autouse=True)
def _clean_masks():
    masking.clear()
    yield
    masking.clear()


def test_output_and_errors_are_masked_when_created() -> None:
    masking.register("hunter2-secret")
    line = Output(step="app.boot", line="password=hunter2-secret ok", host="h1")
    finished = StepFinished(step="app.boot", status=StepStatus.FAILED, duration=1.0, error="bad hunter2-secret")
    assert "hunter2-secret" not in line.line and masking.MASK in line.line
    assert finished.error == f"bad {masking.MASK}"


def test_event_log_fans_out_in_order() -> None:
    log = EventLog()
    seen: list[str] = []
    log.subscribe(lambda event: seen.append(type(event).__name__))
    log.emit(Output(step="s", line="a"))
    log.emit(StepFinished(step="s", status=StepStatus.OK, duration=0.1))
    assert seen == ["Output", "StepFinished"]
    assert len(log.events) == 2


def _remove_db() -> ConfirmationRequest:
    return ConfirmationRequest(
        action="accessory.remove",
        title="Remove accessory db",
        consequence="Deletes the container, the image and the data directory app-db.",
        effects=(Effect("10.0.0.3", "rm -rf app-db"),),
        target="db",
        destroys_data=True,
    )


async def test_flag_confirmer_refuses_without_the_exact_flag() -> None:
    with pytest.raises(ConfirmationRefused) as raised:
        await FlagConfirmer(["accessory.remove:redis"]).confirm(_remove_db())
    assert "--confirm=accessory.remove:db" in str(raised.value)
    assert raised.value.exit_code == 2


async def test_flag_confirmer_accepts_the_named_target() -> None:
    assert await FlagConfirmer(["accessory.remove:db"]).confirm(_remove_db()) is True


def test_description_lists_every_host_effect() -> None:
    text = describe(_remove_db())
    assert "10.0.0.3: rm -rf app-db" in text


def test_a_failing_subscriber_is_removed_and_reported_once() -> None:
    log = EventLog()
    seen: list[object] = []
    calls = 0

    def broken(event) -> None:
        nonlocal calls
        calls += 1
        raise BrokenPipeError("reader went away")

    log.subscribe(broken)
    log.subscribe(seen.append)
    log.emit(Output(step="s", line="a"))
    log.emit(Output(step="s", line="b"))
    assert calls == 1
    assert [type(event).__name__ for event in seen] == ["Output", "Notice", "Output"]
    report = seen[1]
    assert isinstance(report, Notice) and report.level == "warning"
    assert "broken" in report.message and "BrokenPipeError: reader went away" in report.message
    assert [sink for sink, _ in log.failed_subscribers] == [broken]


def test_the_event_log_is_a_ring_of_its_capacity() -> None:
    log = EventLog(capacity=3)
    for index in range(5):
        log.emit(Output(step="s", line=str(index)))
    assert [event.line for event in log.events] == ["2", "3", "4"]
    assert log.dropped == 2
    with pytest.raises(ValueError):
        EventLog(capacity=0)


def test_rows_and_diagnosis_mask_their_text() -> None:
    masking.register("hunter2-secret")
    rows = Rows(kind="lock", title="Deploy lock", columns=("message",), rows=(("by hunter2-secret",),))
    assert rows.dicts() == [{"message": f"by {masking.MASK}"}]
    diagnosis = Diagnosis(code="app.boot_failed", title="web failed", detail="hunter2-secret leaked",
                          fixes=(("Show logs", "shipdeck app logs"),))
    assert "hunter2-secret" not in diagnosis.detail


def test_plain_renderer_survives_a_closed_pipe() -> None:
    from app.headless.plain import PlainRenderer

    class ClosedPipe:
        writes = 0

        def write(self, text: str) -> None:
            self.writes += 1
            raise BrokenPipeError("closed")

        def flush(self) -> None:
            raise BrokenPipeError("closed")

    pipe = ClosedPipe()
    renderer = PlainRenderer(pipe)
    renderer(StepFinished(step="s", status=StepStatus.OK, duration=0.1))  # must not raise
    renderer(StepFinished(step="s", status=StepStatus.FAILED, duration=0.1, error="x"))
    assert pipe.writes == 1  # it stopped writing to the closed pipe after the first failure
