from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.logview.filters import PatternError, TimeWindow
from app.logview.model import Gap, Level, LogLine, Switch
from app.logview.view import LogModel
from tests.unit.logview_support import DB, JOB, WEB1, WEB2, at, line, texts


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self):
        return self.now


def _model(capacity: int = 1000, clock=None) -> LogModel:
    return LogModel(capacity, clock=clock or (lambda: at(3600)), mask=lambda text: text)


def test_lines_from_several_sources_are_shown_merged_by_time() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "w1"), line(WEB1, 3, "w3")])
    report = model.ingest([line(DB, 2, "d2"), line(DB, 4, "d4")])
    assert texts(model.entries) == ["w1", "d2", "w3", "d4"]
    assert report.shown == 2


def test_levels_are_detected_on_the_way_in() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "E, [2026-05-01T12:00:00.1 #1] ERROR -- : boom"), line(WEB1, 2, "hello")])
    assert [entry.level for entry in model.entries] == [Level.ERROR, Level.NONE]


def test_text_is_masked_on_the_way_in() -> None:
    model = LogModel(10, mask=lambda text: text.replace("hunter2", "[REDACTED]"))
    model.ingest([line(WEB1, 1, "password=hunter2")])
    assert texts(model.entries) == ["password=[REDACTED]"]


def test_filter_invert_and_case_rebuild_the_view_from_the_buffer() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "GET /up"), line(WEB1, 2, "GET /orders"), line(WEB1, 3, "get /UP")])
    model.set_filter("/up")
    assert texts(model.entries) == ["GET /up", "get /UP"]
    model.set_case_sensitive(True)
    assert texts(model.entries) == ["GET /up"]
    model.set_filter("!/up")
    assert texts(model.entries) == ["GET /orders", "get /UP"]
    model.set_filter("")
    assert len(model) == 3


def test_a_bad_filter_leaves_the_view_as_it_was() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "a"), line(WEB1, 2, "b")])
    model.set_filter("a")
    with pytest.raises(PatternError):
        model.set_filter("(")
    assert texts(model.entries) == ["a"]
    assert model.filter.text == "a"


def test_new_lines_pass_through_the_active_filter() -> None:
    model = _model()
    model.set_filter("!health")
    report = model.ingest([line(WEB1, 1, "GET /health"), line(WEB1, 2, "GET /orders")])
    assert texts(model.entries) == ["GET /orders"]
    assert report.shown == 1


def test_level_chips() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "ERROR a"), line(WEB1, 2, "WARN b"), line(WEB1, 3, "INFO c"), line(WEB1, 4, "d")])
    model.toggle_level(Level.ERROR)
    model.toggle_level(Level.WARN)
    assert texts(model.entries) == ["ERROR a", "WARN b"]
    model.toggle_level(Level.WARN)
    assert texts(model.entries) == ["ERROR a"]


def test_hiding_a_source_keeps_its_lines_for_when_it_comes_back() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "w1"), line(WEB2, 2, "x2"), line(WEB1, 3, "w3")])
    model.set_source_shown(WEB2, False)
    model.ingest([line(WEB2, 4, "x4")])
    assert texts(model.entries) == ["w1", "w3"]
    model.set_source_shown(WEB2, True)
    assert texts(model.entries) == ["w1", "x2", "w3", "x4"]


def test_tail_window_shows_the_last_n_and_slides() -> None:
    model = _model()
    model.ingest([line(WEB1, second, f"l{second}") for second in range(10)])
    model.set_window(TimeWindow(tail=3))
    assert texts(model.entries) == ["l7", "l8", "l9"]
    model.ingest([line(WEB1, 10, "l10")])
    assert texts(model.entries) == ["l8", "l9", "l10"]


def test_tail_window_counts_filtered_lines() -> None:
    model = _model()
    model.ingest([line(WEB1, second, f"{'odd' if second % 2 else 'even'} {second}") for second in range(10)])
    model.set_filter("odd")
    model.set_window(TimeWindow(tail=2))
    assert texts(model.entries) == ["odd 7", "odd 9"]


def test_since_window_follows_the_clock() -> None:
    clock = Clock()
    model = _model(clock=clock)
    clock.now = at(600)
    model.ingest([line(WEB1, 0, "ten minutes ago"), line(WEB1, 400, "200 s ago"), line(WEB1, 590, "10 s ago")])
    model.set_window(TimeWindow(since=timedelta(minutes=5)))
    assert texts(model.entries) == ["200 s ago", "10 s ago"]
    clock.now = at(750)
    assert model.advance_window() == 1
    assert texts(model.entries) == ["10 s ago"]
    model.ingest([line(WEB1, 100, "late and too old"), line(WEB1, 749, "new")])
    assert texts(model.entries) == ["10 s ago", "new"]
    model.set_window(TimeWindow())
    assert len(model) == 5


def test_full_buffer_trims_the_view_and_counts_what_left() -> None:
    model = _model(capacity=3)
    model.ingest([line(WEB1, second, f"l{second}") for second in range(3)])
    model.ingest([line(WEB1, 3, "l3"), line(WEB1, 4, "l4")])
    assert texts(model.entries) == ["l2", "l3", "l4"]
    assert model.dropped == 2
    model.overflow += 5
    assert model.dropped == 7


def test_markers_are_entries_in_time_order_and_survive_filters() -> None:
    model = _model()
    gap = Gap(WEB2, at(2), at(6), container="demo-web-abc")
    switch = Switch(WEB1, at(4), new_container="demo-web-new", old_container="demo-web-old")
    model.ingest([line(WEB1, 1, "a"), line(WEB1, 3, "b"), line(WEB1, 5, "c")])
    model.ingest([gap, switch])
    assert [type(entry).__name__ for entry in model.entries] == ["LogLine", "Gap", "LogLine", "Switch", "LogLine"]
    model.set_filter("zzz")
    assert model.entries == [gap, switch]
    assert "lost 12:00:02 → 12:00:06 (4.0 s), lines may be missing" in gap.text
    assert switch.text == "now following demo-web-new (was demo-web-old)"


def test_search_counts_matches_and_steps_both_ways() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "timeout a timeout"), line(WEB1, 2, "ok"), line(WEB1, 3, "Timeout b")])
    model.set_search("timeout")
    assert model.search.total == 3
    assert model.search.counter() == "3 matches"
    assert model.step_search(+1, near_index=0) == 0
    assert model.search.counter() == "1/3"
    assert model.step_search(+1, near_index=0) == 0
    assert model.current_match().start == 10
    assert model.step_search(+1, near_index=0) == 2
    assert model.search.counter() == "3/3"
    assert model.step_search(+1, near_index=0) == 0  # wraps
    assert model.step_search(-1, near_index=0) == 2
    model.ingest([line(WEB1, 4, "timeout again")])
    assert model.search.counter() == "3/4"


def test_search_does_not_hide_lines_and_follows_the_filter() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "alpha x"), line(WEB1, 2, "beta x"), line(WEB1, 3, "gamma")])
    model.set_search("x")
    assert len(model) == 3 and model.search.total == 2
    model.set_filter("beta")
    assert model.search.total == 1
    with pytest.raises(PatternError, match="search"):
        model.set_search("[")


def test_search_matches_leave_with_their_lines() -> None:
    model = _model(capacity=2)
    model.ingest([line(WEB1, 1, "hit 1"), line(WEB1, 2, "hit 2")])
    model.set_search("hit")
    model.step_search(+1, near_index=1)
    assert model.search.counter() == "2/2"
    model.ingest([line(WEB1, 3, "hit 3")])
    assert model.search.counter() == "1/2"
    assert model.current_match().entry.text == "hit 2"


def test_next_error_wraps_around() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "ERROR a"), line(WEB1, 2, "fine"), line(WEB1, 3, "ERROR b"), line(WEB1, 4, "x")])
    assert model.next_error(0) == 2
    assert model.next_error(2) == 0
    assert model.next_error(3, direction=-1) == 2


def test_wrapping_gives_long_lines_several_rows_with_a_hanging_indent() -> None:
    model = _model()
    model.ingest([line(WEB1, 1, "short"), line(WEB1, 2, "x" * 100), line(WEB1, 3, "end")])
    assert model.layout.prefix_width == len("web-1/web")
    text_column = 13 + 10
    model.set_layout(width=60)
    assert model.row_count == 3
    assert model.set_layout(wrap=True)
    # 100 cells of text: 37 on the first row, then 37 per continuation row under the text column
    assert model.rows_of(1) == 1 + -(-(text_column + 100 - 60) // (60 - text_column))
    assert model.row_count == 2 + model.rows_of(1)
    assert model.locate(1) == (1, 0)
    assert model.locate(model.row_of(2)) == (2, 0)
    assert model.locate(model.row_of(2) - 1) == (1, model.rows_of(1) - 1)
    start, end, indent = model.layout.row_cells(1)
    assert (start, end - start, indent) == (60, 60 - text_column, text_column)
    model.set_layout(timestamps=False)
    assert model.layout.text_column == 10


def test_a_new_longer_source_label_widens_the_prefix_column() -> None:
    model = _model()
    model.ingest([line(DB, 1, "x")])
    assert model.layout.prefix_width == 2
    report = model.ingest([line(JOB, 2, "y")])
    assert report.relayout and model.layout.prefix_width == len("web-3/job")


def _scratch(model: LogModel) -> list[str]:
    fresh = LogModel(model.buffer.capacity, clock=model.clock, mask=lambda text: text)
    fresh.filter = model.filter
    fresh.window = model.window
    fresh.buffer = model.buffer
    fresh.layout = model.layout
    fresh.rebuild()
    return [f"{entry.key}" for entry in fresh.entries]


batches = st.lists(
    st.lists(st.tuples(st.sampled_from([WEB1, WEB2, DB]), st.integers(0, 300), st.sampled_from(["a", "b", "ab"])),
             min_size=1, max_size=8),
    min_size=1, max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(batches=batches, capacity=st.integers(1, 20), pattern=st.sampled_from(["", "a", "!a"]),
       window=st.sampled_from([TimeWindow(), TimeWindow(tail=4), TimeWindow(since=timedelta(seconds=120))]),
       wrap=st.booleans())
def test_the_incremental_view_equals_a_rebuild_from_the_buffer(batches, capacity, pattern, window, wrap) -> None:
    model = LogModel(capacity, clock=lambda: at(250), mask=lambda text: text)
    model.set_filter(pattern)
    model.set_window(window)
    model.set_layout(width=30, wrap=wrap)
    model.set_search("b")
    for batch in batches:
        model.ingest([LogLine(source, at(second), text * (1 + second % 7)) for source, second, text in batch])
        assert [f"{entry.key}" for entry in model.entries] == _scratch(model)
        expected_rows = sum(model.layout.rows_for(entry) for entry in model.entries)
        assert model.row_count == expected_rows
        assert model.search.total == sum(entry.text.count("b") for entry in model.entries)
