import os
import stat

from app.logview import save
from app.logview.filters import TimeWindow, parse_duration
from app.logview.model import Gap, Level, Switch
from app.logview.view import LogModel
from app.secrets import masking
from tests.unit.logview_support import DB, WEB1, WEB2, at, line


def _model() -> LogModel:
    model = LogModel(3, clock=lambda: at(100), mask=lambda text: text)
    model.ingest([line(WEB1, 10, "GET /orders"), line(DB, 20, "checkpoint"), line(WEB2, 30, "GET /health")])
    model.ingest([line(WEB1, 40, "ERROR boom"), Gap(WEB2, at(50), at(55)), Switch(WEB1, at(60), "demo-web-2")])
    return model


def test_the_header_names_sources_filter_window_and_dropped_lines(tmp_path) -> None:
    model = _model()
    model.set_filter("!health")
    model.toggle_level(Level.ERROR)
    model.set_source_shown(DB, False)
    model.set_window(TimeWindow(since=parse_duration("1h")))
    path = save.save(model, tmp_path / "out" / save.default_name(at(100)), now=at(100))
    assert path.name == "shipdeck-logs-20260501-120140.log"
    lines = path.read_text().splitlines()
    assert lines[:7] == [
        "# shipdeck logs, saved 2026-05-01T12:01:40.000000Z",
        "# sources: web-1/web (app), web-2/web (app)",
        "# hidden sources: db (accessory on db-1)",
        "# filter: lines not matching /health/ (ignoring case); levels ERROR; hidden db",
        "# window: last 1h (since 2026-05-01T11:01:40Z)",
        "# lines: 3 shown of 3 buffered",
        "# dropped: 3 older lines are no longer in the buffer (capacity 3); they are not in this file",
    ]
    assert lines[7:] == [
        "2026-05-01T12:00:40.000000Z web-1/web ERROR boom",
        "2026-05-01T12:00:50.000000Z web-2/web ── ⚠ gap: stream lost 12:00:50 → 12:00:55 (5.0 s),"
        " lines may be missing ──",
        "2026-05-01T12:01:00.000000Z web-1/web ── ⇄ switch: now following demo-web-2 ──",
    ]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_secrets_stay_masked_in_the_file(tmp_path) -> None:
    masking.register("s3cr3t-pa55")
    try:
        model = LogModel(10, clock=lambda: at(100), mask=lambda text: text)  # a source that forgot to mask
        model.ingest([line(WEB1, 1, "DATABASE_URL=postgres://app:s3cr3t-pa55@db/app"), line(WEB1, 2, "[REDACTED] ok")])
        text = save.save(model, tmp_path / "x.log", now=at(100)).read_text()
    finally:
        masking.clear()
    assert "s3cr3t-pa55" not in text
    assert "postgres://app:[REDACTED]@db/app" in text
    assert "[REDACTED] ok" in text
