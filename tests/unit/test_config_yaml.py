"""YAML read as Psych reads it, with the location of every key."""

from __future__ import annotations

import datetime

import pytest

from app.config import yamlsource
from app.config.loader import deep_merge
from app.config.scalars import tokenize as resolve_plain_scalar
from app.config.yamlsource import LocatedDict, Symbol, locate
from app.errors import ConfigError


@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("On", True), ("TRUE", True), ("off", False), ("No", False), ("y", "y"), ("n", "n"),
    ("~", None), ("Null", None), ("", None), ("1,000", 1000), ("1_000", 1000), ("017", 15), ("09", "09"),
    ("0x1F", 31), ("0b101", 5), ("0o17", "0o17"), ("+12", 12), ("-3", -3), ("1.5", 1.5), (".5", 0.5),
    ("1e5", "1e5"), ("1.0e+5", 100000.0), ("1:30", 5400), ("12_", "12_"), ("3306", 3306),
    ("0x_", "0x_"), ("0b_", "0b_"), ("0,", "0,"), ("0_", "0_"), ("0x_1F", 31), ("1__0:20", 4800),
    ("1:20.5_5", 4833.0), ("00_7", 7), (".5", 0.5), ("1.", 1.0), ("+.", "+."), ("2024-02-30", "2024-02-30"),
    ("127.0.0.1:3306:3306", "127.0.0.1:3306:3306"), ("25%", "25%"), ("v0.9.2", "v0.9.2"),
])
def test_plain_scalars_resolve_like_psych(text: str, value: object) -> None:
    assert resolve_plain_scalar(text) == value
    assert type(resolve_plain_scalar(text)) is type(value)


def test_symbols_and_dates() -> None:
    symbol = resolve_plain_scalar(":verbose")
    assert isinstance(symbol, Symbol) and str(symbol) == "verbose"
    assert symbol != "verbose", "a Ruby Symbol never equals a String"
    assert symbol == Symbol("verbose")
    assert str(resolve_plain_scalar(':"two words"')) == "two words"
    assert resolve_plain_scalar("2024-01-31") == datetime.date(2024, 1, 31)


def test_quoted_scalars_stay_strings() -> None:
    data = yamlsource.load('a: "yes"\nb: \'123\'\nc: !!str 12\nd: ":sym"\n', "f")
    assert data == {"a": "yes", "b": "123", "c": "12", "d": ":sym"}
    assert not isinstance(data["d"], Symbol)


def test_keys_remember_their_lines() -> None:
    data = yamlsource.load("service: a\nservers:\n  web:\n    hosts:\n      - h1\n      - h2\n", "deploy.yml")
    assert locate(data, ("servers", "web", "hosts", 1)) == yamlsource.Location("deploy.yml", 6)
    assert locate(data, ("servers", "web", "missing")).line == 3  # the deepest key that exists
    assert locate(data, ("service",)).line == 1


def test_anchors_aliases_and_merge_keys() -> None:
    text = ("x-base: &base\n  cmd: run\n  options: {memory: 1g}\nweb:\n  <<: *base\n  cmd: override\n"
            "jobs:\n  cmd: first\n  <<: *base\nlist: &l [a, b]\nagain: *l\n")
    data = yamlsource.load(text, "f")
    assert data["web"] == {"cmd": "override", "options": {"memory": "1g"}}
    # Psych applies `<<` where it appears, so keys before it are overwritten.
    assert data["jobs"] == {"cmd": "run", "options": {"memory": "1g"}}
    assert data["again"] == ["a", "b"]
    assert locate(data, ("web", "options")).line == 3  # merged keys point at the anchor


def test_line_mapping_through_a_render() -> None:
    data = yamlsource.load("a: 1\nb: 2\n", "f", line_of=lambda index: index + 10)
    assert locate(data, ("b",)).line == 11


@pytest.mark.parametrize(("text", "line"), [
    ("service: a\nservers:\n  - h1\n - h2\n", 4),
    ("service: a\nimage: [unclosed\nother: 1\n", 2),  # the line that opened it, as Psych reports
    ("a: 1\n\tb: 2\n", 2),
    ('a: "unterminated\n', 2),
])
def test_yaml_syntax_errors_carry_file_and_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as error:
        yamlsource.load(text, "config/deploy.yml")
    assert error.value.line == line
    assert str(error.value).startswith(f"config/deploy.yml:{line}: YAML syntax error: ")


def test_ruby_object_tags_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^f:2: unsupported YAML tag"):
        yamlsource.load("a: 1\nb: !ruby/object:Gem::Installer {}\n", "f")


def test_deep_merge_merges_hashes_and_replaces_arrays_and_scalars() -> None:
    base = yamlsource.load("a:\n  b: 1\n  c: [1, 2]\n  d: {e: 1}\nf: 1\n", "base.yml")
    override = yamlsource.load("a:\n  c: [3]\n  d: {g: 2}\nf: null\nh: new\n", "dest.yml")
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [3], "d": {"e": 1, "g": 2}}, "f": None, "h": "new"}
    assert isinstance(merged, LocatedDict)
    assert locate(merged, ("a", "b")).file == "base.yml"
    assert locate(merged, ("a", "c")) == yamlsource.Location("dest.yml", 2)
    assert locate(merged, ("a", "d", "e")).file == "base.yml"
    assert locate(merged, ("a", "d", "g")).file == "dest.yml"
    assert base["a"]["c"] == [1, 2], "the base file's values are not modified"
