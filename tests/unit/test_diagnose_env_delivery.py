"""What containers receive through Kamal's env files (tests/remote checks the same against real docker)."""

from __future__ import annotations

from app import contract
from app.diagnose.env_delivery import delivery, docker_env_file_values, received_value


def test_docker_reads_env_files_literally() -> None:
    content = '  # comment\n\nA="quoted"\r\nB=x=y \n  C=  spaced\nD\n'
    assert docker_env_file_values(content) == {"A": '"quoted"', "B": "x=y ", "C": "  spaced"}


def test_received_values() -> None:
    assert received_value("plain") == "plain"
    assert received_value("a\\b") == "a\\\\b"
    assert received_value("l1\nl2") == "l1\\nl2"
    assert received_value("t\tr\r") == "t\\tr\\r"
    assert received_value('q"#{x}$y`') == 'q"#{x}$y`'
    assert received_value("ünï\u2028") == "ünï\u2028"
    assert received_value("\x01\x7f") == "\\x01\\x7F"
    # the same function Kamal's file writer uses, read back per line
    assert contract.env_file_content({"K": "a\\b"}) == "K=a\\\\b\n"


def test_delivery_names_each_change_with_counts_and_lengths() -> None:
    change = delivery("a\\b\\c\nd\te")
    assert (change.sent_length, change.received_length) == (9, 13)  # four characters become two each
    described = {item.character: (item.count, item.arrives_as) for item in change.changes}
    assert described == {"backslash": (2, "\\\\"), "newline": (1, "\\n"), "tab": (1, "\\t")}
    assert not delivery("no change: $ \" ' # é").changed
    assert delivery("\x01").changes[0].character == "control character U+0001"
