"""YAML read and written as Psych (Kamal 2.11) does, class by class.

Each class has several inputs; tests/interop/test_config_classes.py runs the same inputs through the
real `kamal config`.
"""

from __future__ import annotations

import datetime
import math
import pathlib

import pytest

from app import contract
from app.config import load_config, yamlsource
from app.config.psych_dump import dump
from app.config.scalars import Symbol
from app.errors import ConfigError
from app.rubyish import to_s


def load(text: str) -> object:
    return yamlsource.load(text, "config/deploy.yml")


# ---------------------------------------------------------------- reading

@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\n---\nb: 2\n", {"a": 1}),
    ("a: 1\n--- [unclosed\n", {"a": 1}),
    ("a: 1\n...\n--- {b\n", {"a": 1}),
    ("---\na: 1\n---\n- x\n", {"a": 1}),
])
def test_only_the_first_document_is_read(text: str, expected: object) -> None:
    assert load(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("v: !!int 1:20", 4800),
    ('v: !!int "1:20"', 4800),  # a tagged scalar is tokenized even when quoted
    ("v: !!int abc", "abc"),
    ("v: !!float .inf", math.inf),
    ("v: !!float 1", 1.0),
    ('v: !!float "1e5"', 100000.0),
    ("v: !!float 0x1A", 26.0),
    ("v: !!str 12", "12"),
    ("v: !!bool yes", True),
    ("v: !!null foo", "foo"),
    ("v: ! 12", 12),
    ("v: !custom 12", 12),
    ("v: !ruby/symbol verbose", Symbol("verbose")),
    ("v: !!map {a: 1}", {"a": 1}),
    ("v: !!seq [1]", [1]),
])
def test_explicit_core_tags_as_psych_reads_them(text: str, expected: object) -> None:
    assert load(text + "\n") == {"v": expected}


@pytest.mark.parametrize(("text", "message"), [
    ("v: !!float abc\n", 'invalid value for Float(): "abc"'),
    ("v: !!float\n", "can't convert nil into Float"),
    ("v: !!float true\n", "can't convert true into Float"),
    ("v: !ruby/object:Gem::Installer {}\n", "unsupported YAML tag !ruby/object:Gem::Installer"),
    ("v: !!binary aGk=\n", "unsupported YAML tag !!binary"),
    ("v: !!omap [a: 1]\n", "unsupported YAML tag !!omap"),
])
def test_tags_that_build_ruby_objects_or_crash_kamal_are_refused_at_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load("a: 1\n" + text)
    assert str(error.value).startswith("config/deploy.yml:2: ")
    assert message in str(error.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("a:\tb\n", {"a": "b"}),
    ("a: {x:\t1,\ty: 2}\n", {"a": {"x": 1, "y": 2}}),
    ('a: "x\ty"\n', {"a": "x\ty"}),
    ("a: b\t# comment\n", {"a": "b"}),
    ("a:\n  - x\t\n", {"a": ["x"]}),
])
def test_tabs_that_libyaml_accepts(text: str, expected: object) -> None:
    assert load(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", {"a": 1, "b": 1, "c": 2, "d": 2}),
    ("a: &x [1]\nb: &x {k: v}\nc: *x\n", {"a": [1], "b": {"k": "v"}, "c": {"k": "v"}}),
    ("a: &x one\nb: [&x two, *x]\nc: *x\n", {"a": "one", "b": ["two", "two"], "c": "two"}),
])
def test_a_redefined_anchor_means_its_latest_definition(text: str, expected: object) -> None:
    assert load(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ('b: {"<<": {m: 1}, z: 2}', {"m": 1, "z": 2}),
    ("b: {'<<': {m: 1}}", {"m": 1}),
    ("b: {!!merge <<: {m: 1}}", {"m": 1}),
    ("b: {!!str <<: {m: 1}}", {"<<": {"m": 1}}),
    ("b:\n  <<: *list", {"<<": ["a", "b"]}),
    ("b:\n  <<: [{p: 1}, {q: 2}, {p: 3}]", {"q": 2, "p": 1}),
    ("b:\n  <<: [{p: 1}, 3]", {"<<": [{"p": 1}, 3]}),
    ("b:\n  <<: plain", {"<<": "plain"}),
    ("b:\n  <<: *scalar", {"<<": "s"}),
    ("b:\n  <<: []", {}),
    ("b:\n  k: 1\n  <<: {k: 2}", {"k": 2}),
    ("b:\n  <<: {k: 2}\n  k: 1", {"k": 1}),
])
def test_merge_keys_as_psych_applies_them(text: str, expected: object) -> None:
    data = load("x-list: &list [a, b]\nx-scalar: &scalar s\n" + text + "\n")
    assert data["b"] == expected  # type: ignore[index]


@pytest.mark.parametrize(("text", "expected"), [
    ("0x_", "0x_"), ("0b_", "0b_"), ("0,", "0,"), ("0_", "0_"), ("0x_1F", 31), ("1,000", 1000), ("09", "09"),
    (".e+5", None), ("1e5", "1e5"), ("1.0e+5", 100000.0), ("-.inf", -math.inf), ("2024-02-30", "2024-02-30"),
    ("2024-01-05", datetime.date(2024, 1, 5)), (":sym", Symbol("sym")), ("on", True), ("~", None),
])
def test_plain_scalars(text: str, expected: object) -> None:
    if text == ".e+5":
        with pytest.raises(ConfigError, match=r'^config/deploy.yml:1: invalid value for Float\(\): "e\+5"'):
            load(f"v: {text}\n")
        return
    value = load(f"v: {text}\n")["v"]  # type: ignore[index]
    assert value == expected and type(value) is type(expected)


def test_nesting_deeper_than_python_recursion_is_fine_up_to_kamals_limit(tmp_path: pathlib.Path) -> None:
    deep = "[" * 1500 + "]" * 1500
    assert isinstance(load(f"v: {deep}\n"), dict)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: a\nimage: b\nservers: [h]\nregistry: {username: u, password: [P]}\n"
        f"builder:\n  arch: amd64\n  args:\n    deep: {deep}\nx-deep: {{a: {deep}}}\n")
    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")
    from app.config.output import kamal_config, to_json, to_yaml

    data = kamal_config(config)
    assert to_yaml(data).count("- - - ") > 0 and to_json(data).count("[") >= 1500
    with pytest.raises(ConfigError, match="nested more than 2000 levels"):
        load("v: " + "[" * 2001 + "]" * 2001 + "\n")


def test_a_structure_that_contains_itself_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^config/deploy.yml:2: the alias \*a refers to"):
        load("x: &a\n  - *a\n")


def test_aliases_share_values_instead_of_copying_them(tmp_path: pathlib.Path) -> None:
    # Nine levels of ten aliases each would be 10**9 values if copied; Kamal and shipdeck share them.
    lines = ["x-l0: &l0 [v, v, v, v, v, v, v, v, v, v]"]
    lines += [f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: a\nimage: b\nservers: [h]\nregistry: {username: u, password: [P]}\nbuilder: {arch: amd64}\n"
        + "\n".join(lines) + "\n")
    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")
    assert len(config.raw["x-l8"]) == 10  # type: ignore[arg-type]


def test_top_level_symbol_keys_are_kamals_keys_and_nested_ones_are_unknown(tmp_path: pathlib.Path) -> None:
    (tmp_path / "config").mkdir()
    deploy = tmp_path / "config" / "deploy.yml"
    deploy.write_text(":service: a\n:image: b\nservers: [h]\nregistry: {username: u, password: [P]}\n"
                      "builder: {arch: amd64}\n:builder: {arch: arm64}\n")
    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")
    assert (config.service, config.builder.arches) == ("a", ("arm64",)), "the later of two spellings wins"
    deploy.write_text("service: a\nimage: b\nservers: [h]\nregistry: {username: u, password: [P]}\n"
                      "builder:\n  :arch: amd64\n")
    with pytest.raises(ConfigError, match=r"^config/deploy.yml:6: builder: unknown key: arch$"):
        load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")


# ---------------------------------------------------------------- writing

@pytest.mark.parametrize(("value", "text"), [
    (5e-05, "5.0e-05"), (1e16, "1.0e+16"), (1.5, "1.5"), (1e15, "1000000000000000.0"), (-2.5e-10, "-2.5e-10"),
    (100.0, "100.0"),
])
def test_floats_in_command_lines_as_ruby_writes_them(value: float, text: str) -> None:
    assert to_s(value) == text
    assert contract.logging_args(None, {"max-size": value}) == ["--log-opt", f'max-size="{text}"']
    assert dump({"f": value}) == f"---\nf: {text}\n"


@pytest.mark.parametrize(("value", "line"), [
    ("y", 'v: "y"'), ("N", 'v: "N"'), ("@foo", 'v: "@foo"'), ("123", "v: '123'"), (":sym", "v: \":sym\""),
    ("<<", "v: !!str '<<'"), ("a: b", "v: 'a: b'"), ("", "v: ''"), ("0123", "v: '0123'"), ("09", "v: '09'"),
    ("2024-01-01", "v: '2024-01-01'"), ("2024-02-30", "v: 2024-02-30"), ("true", "v: 'true'"), ("plain", "v: plain"),
    ("x #y", "v: 'x #y'"), ("é", "v: é"), ("a\tb", 'v: "a\\tb"'), ("null", "v: 'null'"), ("-", 'v: "-"'),
    (None, "v: "), (True, "v: true"), (Symbol("fatal"), "v: :fatal"), (math.inf, "v: .inf"), (7, "v: 7"),
    (datetime.date(2024, 1, 2), "v: 2024-01-02"),
])
def test_scalars_are_quoted_as_psych_quotes_them(value: object, line: str) -> None:
    assert dump({"v": value}) == f"---\n{line}\n"


def test_symbol_keys_lists_and_multiline_strings() -> None:
    data = {Symbol("roles"): ["web"], Symbol("empty"): [], Symbol("map"): {}, Symbol("text"): "one\ntwo",
            "n": {"nested": [1, {"a": None}]}}
    assert dump(data) == ("---\n:roles:\n- web\n:empty: []\n:map: {}\n:text: |-\n  one\n  two\n\"n\":\n  nested:\n"
                          "  - 1\n  - a: \n")


def test_a_date_met_twice_is_anchored_like_psych_does() -> None:
    day = datetime.date(2024, 1, 2)
    assert dump({"a": day, "b": [day], "c": datetime.date(2024, 1, 2)}) == (
        "---\na: &1 2024-01-02\nb:\n- *1\nc: 2024-01-02\n")
