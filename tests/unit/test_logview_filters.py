from datetime import timedelta

import pytest

from app.logview.filters import LineFilter, PatternError, TimeWindow, parse_duration, preset_windows
from app.logview.model import Gap, Level, LogLine, Switch
from tests.unit.logview_support import DB, T0, WEB1, WEB2, at, line


def _level_line(text: str, level: Level) -> LogLine:
    entry = line(WEB1, 0, text)
    entry.level = level
    return entry


def test_regex_filter_keeps_matching_lines() -> None:
    keep = LineFilter("GET /(up|health)")
    assert keep.accepts(line(WEB1, 0, 'Started GET /up for 10.0.0.1'))
    assert not keep.accepts(line(WEB1, 0, "Started POST /orders"))


def test_bang_inverts_the_filter() -> None:
    drop = LineFilter("!health")
    assert drop.inverted
    assert not drop.accepts(line(WEB1, 0, "GET /health 200"))
    assert drop.accepts(line(WEB1, 0, "GET /orders 200"))


def test_case_is_ignored_unless_asked_for() -> None:
    assert LineFilter("error").accepts(line(WEB1, 0, "ERROR boom"))
    assert not LineFilter("error", case_sensitive=True).accepts(line(WEB1, 0, "ERROR boom"))
    assert LineFilter("ERROR", case_sensitive=True).accepts(line(WEB1, 0, "ERROR boom"))


def test_level_chips_keep_only_the_chosen_levels() -> None:
    chips = LineFilter(levels=frozenset({Level.ERROR, Level.WARN}))
    assert chips.accepts(_level_line("x", Level.ERROR))
    assert chips.accepts(_level_line("x", Level.WARN))
    assert not chips.accepts(_level_line("x", Level.INFO))
    assert not chips.accepts(_level_line("x", Level.NONE))


def test_hidden_sources_hide_their_lines_and_markers() -> None:
    hide = LineFilter(hidden=frozenset({WEB2}))
    assert not hide.accepts(line(WEB2, 0, "x"))
    assert hide.accepts(line(WEB1, 0, "x"))
    assert not hide.accepts(Gap(WEB2, at(0), at(5)))


def test_markers_pass_text_and_level_filters() -> None:
    strict = LineFilter("nothing-matches-this", levels=frozenset({Level.ERROR}))
    assert strict.accepts(Gap(WEB1, at(0), at(5)))
    assert strict.accepts(Switch(DB, at(1), "db-new"))


def test_an_invalid_regex_names_the_pattern_and_the_problem() -> None:
    with pytest.raises(PatternError, match=r"filter 'a\(b' is not a valid regular expression: .* at position 1"):
        LineFilter("a(b")


def test_describe_says_what_is_applied() -> None:
    assert LineFilter().describe() == "none"
    described = LineFilter("!health", levels=frozenset({Level.ERROR}), hidden=frozenset({WEB2})).describe()
    assert described == "lines not matching /health/ (ignoring case); levels ERROR; hidden web-2/web"


def test_windows_label_and_cut_off() -> None:
    since = TimeWindow(since=parse_duration("5m"))
    assert since.label == "last 5m"
    assert since.cutoff(T0) == T0 - timedelta(minutes=5)
    assert since.describe(T0) == "last 5m (since 2026-05-01T11:55:00Z)"
    assert TimeWindow(tail=500).label == "last 500 lines"
    assert [w.label for w in preset_windows(200)] == [
        "all buffered", "last 200 lines", "last 1m", "last 5m", "last 15m", "last 1h",
    ]


@pytest.mark.parametrize("bad", ["", "5", "0m", "-1m", "5 minutes", "1w"])
def test_bad_durations_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a positive number followed by s, m, h or d"):
        parse_duration(bad)


def test_a_window_is_a_tail_or_a_since() -> None:
    with pytest.raises(ValueError):
        TimeWindow(tail=10, since=timedelta(minutes=1))
    with pytest.raises(ValueError):
        TimeWindow(tail=0)
