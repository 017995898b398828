import pytest

from app.logview.buffer import RingBuffer, merge_by_time
from tests.unit.logview_support import DB, WEB1, WEB2, line, texts


def test_keeps_at_most_capacity_and_counts_every_dropped_line() -> None:
    ring = RingBuffer(capacity=3)
    for second in range(5):
        ring.add([line(WEB1, second, f"l{second}")])
    assert texts(ring) == ["l2", "l3", "l4"]
    assert ring.dropped == 2
    assert ring.added == 5


def test_a_batch_larger_than_the_buffer_keeps_the_newest_and_counts_the_rest() -> None:
    ring = RingBuffer(capacity=4)
    change = ring.add([line(WEB1, second, f"l{second}") for second in range(10)])
    assert texts(ring) == ["l6", "l7", "l8", "l9"]
    assert ring.dropped == 6
    assert change.evicted == 6
    assert change.start == 0


def test_late_lines_are_merged_into_place_by_timestamp() -> None:
    ring = RingBuffer(capacity=10)
    ring.add([line(WEB1, 1, "a1"), line(WEB1, 3, "a3"), line(WEB1, 5, "a5")])
    change = ring.add([line(WEB2, 4, "b4"), line(WEB2, 2, "b2")])
    assert texts(ring) == ["a1", "b2", "a3", "b4", "a5"]
    assert change.start == 1  # everything from b2 on is new or moved


def test_an_appending_batch_changes_only_the_end() -> None:
    ring = RingBuffer(capacity=10)
    ring.add([line(WEB1, 1, "a1")])
    change = ring.add([line(WEB1, 2, "a2")])
    assert change.start == 1 and change.evicted == 0


def test_equal_timestamps_keep_arrival_order() -> None:
    ring = RingBuffer(capacity=10)
    ring.add([line(WEB1, 1, "first"), line(WEB2, 1, "second")])
    ring.add([line(DB, 1, "third")])
    assert texts(ring) == ["first", "second", "third"]


def test_a_late_line_older_than_a_full_buffer_is_dropped_and_counted() -> None:
    ring = RingBuffer(capacity=2)
    ring.add([line(WEB1, 5, "a5"), line(WEB1, 6, "a6")])
    ring.add([line(WEB2, 1, "b1")])
    assert texts(ring) == ["a5", "a6"]
    assert ring.dropped == 1


def test_merge_by_time_interleaves_sorted_sources() -> None:
    web = [line(WEB1, 1, "w1"), line(WEB1, 4, "w4")]
    db = [line(DB, 2, "d2"), line(DB, 3, "d3"), line(DB, 5, "d5")]
    assert texts(merge_by_time(web, db)) == ["w1", "d2", "d3", "w4", "d5"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(capacity=0)
