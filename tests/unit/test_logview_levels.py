import pytest

from app.logview.levels import detect_level
from app.logview.model import Level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("E, [2026-05-01T12:00:00.123456 #1] ERROR -- : boom", Level.ERROR),
        ("F, [2026-05-01T12:00:00.123456 #1] FATAL -- : dead", Level.ERROR),
        ("W, [2026-05-01T12:00:00.123456 #1]  WARN -- : careful", Level.WARN),
        ("I, [2026-05-01T12:00:00.123456 #1]  INFO -- : hello", Level.INFO),
        ("D, [2026-05-01T12:00:00.123456 #1] DEBUG -- : detail", Level.DEBUG),
        ('[4b1c6c7a-1f0e] Started GET "/" for 10.0.0.9 at 2026-05-01 12:00:00 +0000', Level.INFO),
        ("[4b1c6c7a-1f0e] Completed 200 OK in 3ms (ActiveRecord: 0.4ms)", Level.INFO),
        ("[4b1c6c7a-1f0e] Completed 404 Not Found in 1ms", Level.WARN),
        ("[4b1c6c7a-1f0e] Completed 500 Internal Server Error in 9ms", Level.ERROR),
        ("[4b1c6c7a-1f0e] ActiveRecord::ConnectionNotEstablished (connection refused)", Level.ERROR),
        ("[4b1c6c7a-1f0e] NoMethodError (undefined method `x' for nil)", Level.ERROR),
        ("[ActiveJob] [DemoJob] ERROR something broke", Level.ERROR),
        ("[ActiveJob] Performed DemoJob (Job ID: 1) in 3ms", Level.INFO),
        ("ERROR could not open file", Level.ERROR),
        ("WARNING: disk almost full", Level.WARN),
        ("time=2026-05-01T12:00:00Z level=warn msg=slow", Level.WARN),
        ('{"time":"2026-05-01T12:00:00Z","level":"INFO","msg":"Request","status":200}', Level.INFO),
        ('{"time":"2026-05-01T12:00:00Z","level":"error","msg":"Unable to proxy"}', Level.ERROR),
        ('{"severity":"WARNING","message":"slow query"}', Level.WARN),
        ('{"level":50,"msg":"pino error"}', Level.ERROR),
        ('{"level":30,"msg":"pino info"}', Level.INFO),
        ('{"msg":"no level here"}', Level.NONE),
        ("2026-05-01 12:00:00.123 UTC [1] ERROR:  relation \"x\" does not exist", Level.ERROR),
        ("2026-05-01 12:00:00.123 UTC [1] FATAL:  password authentication failed", Level.ERROR),
        ("2026-05-01 12:00:00.123 UTC [1] LOG:  database system is ready to accept connections", Level.INFO),
        ("2026-05-01 12:00:00.123 UTC [1] WARNING:  could not flush", Level.WARN),
        ("1:M 01 May 2026 12:00:00.123 * Ready to accept connections tcp", Level.INFO),
        ("1:M 01 May 2026 12:00:00.123 # WARNING Memory overcommit must be enabled!", Level.WARN),
        ("just some words about an error in prose", Level.NONE),
        ("", Level.NONE),
        ("{not json at all", Level.NONE),
    ],
)
def test_detects_the_level_each_format_states(text: str, level: Level) -> None:
    assert detect_level(text) is level
