"""Each YAML/ERB class of differences, several inputs at once, against the real `kamal config`.

A class is one project whose `builder.args` (printed verbatim by `kamal config`) or logging options
hold the inputs; shipdeck's YAML output must equal Kamal's byte for byte.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEAD = """\
service: app
image: acme/app
servers: [192.0.2.1]
registry:
  username: u
  password: [KAMAL_REGISTRY_PASSWORD]
"""


def _args(lines: str) -> str:
    return HEAD + "builder:\n  arch: amd64\n  args:\n" + "".join(f"    {line}\n" for line in lines.splitlines())


CLASSES: dict[str, str] = {
    "multi-document-valid-second": HEAD + "builder: {arch: amd64}\n---\nservice: other\n",
    "multi-document-broken-second": HEAD + "builder: {arch: amd64}\n--- [unclosed\n  - :\n",
    "multi-document-end-marker": HEAD + "builder: {arch: amd64}\n...\n--- {b\n",
    "explicit-core-tags": _args(
        'i1: !!int 1:20\ni2: !!int "1:20"\ni3: !!int abc\nf1: !!float .inf\nf2: !!float 1\nf3: !!float "1e5"\n'
        "f4: !!float 0x1A\ns1: !!str 12\nb1: !!bool yes\nn1: !!null foo\ne1: ! 12\nc1: !custom 12\n"
        "m1: !!map {a: 1}\nq1: !!seq [1]\nsy: !ruby/symbol verbose"),
    "tabs-libyaml-accepts": HEAD + "builder:\n  arch:\tamd64\n  args:\n    a:\tb\n    f: {x:\t1,\ty: 2}\n"
                                   '    q: "x\ty"\n    c: b\t# comment\n',
    "redefined-anchors": _args("a: &x 1\nb: *x\nc: &x 2\nd: *x\ne: &y [1]\nf: &y {k: v}\ng: *y\n"
                               "h: &z one\ni: [&z two, *z]\nj: *z"),
    "merge-key-forms": HEAD + "x-list: &list [a, b]\nx-scalar: &scalar s\n" + _args(
        'a: {"<<": {m: 1}, z: 2}\nb: {\'<<\': {m: 1}}\nc: {!!merge <<: {m: 1}}\nd: {!!str <<: {m: 1}}\n'
        "e: {<<: *list}\nf: {<<: [{p: 1}, {q: 2}, {p: 3}]}\ng: {<<: [{p: 1}, 3]}\nh: {<<: plain}\n"
        "i: {<<: *scalar}\nj: {<<: []}\nk: {k: 1, <<: {k: 2}}\nl: {<<: {k: 2}, k: 1}").replace(HEAD, "", 1),
    "floats-in-command-lines": HEAD + "builder:\n  arch: amd64\n  args:\n    a: 5.0e-05\n    b: 1.0e+16\n"
                                      "    c: 1.5\n    d: 100.0\n    e: .inf\n    f: 1e15\n    g: 0.1e+2\n"
                                      "logging:\n  options:\n    max-size: 5.0e-05\n    max-file: 1.0e+16\n"
                                      "    tag: 2.5e-10\n",
    "plain-scalars": _args("a: 0x_\nb: 0b_\nc: 0,\nd: 0_\ne: 0x_1F\nf: 1,000\ng: 09\nh: 1e5\ni: -.inf\n"
                           "j: 2024-02-30\nk: 2024-1-5\nl: :sym\nm: on\nn: ~\no: 1:20.5_5\np: 1__0:20\nq: 00_7\n"
                           "r: .5\ns: 1.\nt: +.\nu: y\nv: Off\nw: 12_"),
    "psych-quoting": _args(
        "a: y\nb: N\nc: '@foo'\nd: '123'\ne: ':sym'\nf: '<<'\ng: 'a: b'\nh: ''\ni: '0123'\nj: '09'\n"
        "k: '2024-01-01'\nl: '2024-02-30'\nm: 'true'\nn: 'x #y'\no: é\np: \"a\\tb\"\nq: 'null'\nr: '-'\n"
        "s: ' lead'\nt: 'trail '\nu: '- x'\nv: '? x'\nw: '!x'\nx: '%x'\ny: '`x'\nz: '[x]'\n"
        "aa: \"two\\nlines\"\nab: \"end\\n\"\nac: " + "word " * 25 + "\nad: '1e5'\nae: '0x_'\naf: '*x'\nag: '&x'\n"
        "ah: '{x'\nai: \"\\u00e9\\u2028x\"\naj: '8'\nak: 'No'\nal: '~'\nam: '1_000'\nan: ':'"),
    "top-level-symbol-keys": ":service: app\n:image: acme/app\nservers: [192.0.2.1]\nregistry:\n  username: u\n"
                             "  password: [KAMAL_REGISTRY_PASSWORD]\nbuilder: {arch: amd64}\n"
                             ":builder: {arch: arm64}\n",
    "erb-ruby": HEAD + """\
<% hosts = ENV["CLASS_HOSTS"].split(",").map(&:strip) -%>
builder:
  arch: amd64
  args:
    interpolated: "<%= "#{ENV['CLASS_APP']}-web" %>"
    defaulted: <%= ENV["CLASS_MISSING"] || ENV["CLASS_ALSO_MISSING"] || "fallback" %>
    fetched: <%= ENV.fetch("CLASS_MISSING") { "from-block" } %>
    stripped: <%= ENV["CLASS_PADDED"].strip.upcase %>
    ternary: <%= ENV["CLASS_APP"] == "shop" ? "yes" : "no" %>
    count: <%= hosts.length + 1 %>
    list: <%= hosts %>
    escaped: '<%= `printf '%s' "c\\\\d"` %>'
    unterminated: '<%= %x(printf '%s' "a\\"b" 2>/dev/null) %>'
    tabbed: <%= %x(printf 'a\\tb') %>
    float: <%= 5.0e-05 %>
<% hosts.each_with_index do |host, index| -%>
    host_<%= index %>: <%= host %>
<% end -%>
#   RUBY_VERSION: <%= ENV["RBENV_VERSION"] || ENV["rvm_ruby_string"] || "#{RUBY_ENGINE}-#{RUBY_ENGINE_VERSION}" %>
""",
}
ENVIRON = {"CLASS_HOSTS": "10.0.0.1, 10.0.0.2", "CLASS_APP": "shop", "CLASS_PADDED": "  value \n"}


def _environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION")
    return {**{key: os.environ[key] for key in keep if key in os.environ}, **ENVIRON}


def _project(tmp_path: pathlib.Path, deploy: str) -> pathlib.Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(deploy)
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=class-secret\n")
    return tmp_path


def run_both(project: pathlib.Path, *args: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    environment = _environment()
    kamal = subprocess.run([sys.executable, "-m", "kamal", "config", "--version", "v1", *args], cwd=project,
                           env=environment, capture_output=True, text=True, timeout=120)
    shipdeck = subprocess.run([sys.executable, "-m", "app", "config", "--version", "v1", *args], cwd=project,
                              env={**environment, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                              timeout=120)
    return kamal, shipdeck


@pytest.mark.kamal
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_shipdeck_prints_what_kamal_prints(name: str, tmp_path: pathlib.Path) -> None:
    kamal, shipdeck = run_both(_project(tmp_path, CLASSES[name]))
    assert kamal.returncode == 0, kamal.stdout + kamal.stderr
    assert shipdeck.returncode == 0, shipdeck.stderr
    assert shipdeck.stdout == kamal.stdout


ERRORS = {
    "nested-symbol-key": (HEAD + "builder:\n  :arch: amd64\n", "builder: unknown key: arch"),
    "env-clear-as-symbol": (HEAD + "builder: {arch: amd64}\nenv:\n  :clear: {A: b}\n", "env/clear: should be a string"),
    "merge-of-a-list-stays-a-key": (HEAD + "builder: {arch: amd64}\nx-l: &l [a]\n<<: *l\n", "unknown key: <<"),
    "float-from-nothing": (HEAD + "builder: {arch: amd64}\nx-f: .e+5\n", 'invalid value for Float(): "e+5"'),
}


@pytest.mark.kamal
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_shipdeck_refuses_what_kamal_refuses(name: str, tmp_path: pathlib.Path) -> None:
    deploy, message = ERRORS[name]
    kamal, shipdeck = run_both(_project(tmp_path, deploy))
    assert kamal.returncode != 0 and message in kamal.stdout + kamal.stderr
    assert shipdeck.returncode == 2 and message in shipdeck.stderr


@pytest.mark.kamal
def test_key_data_is_redacted_only_where_it_names_a_secret(tmp_path: pathlib.Path) -> None:
    project = _project(tmp_path, HEAD + "builder: {arch: amd64}\nssh:\n  key_data: [KEY, NOT_A_SECRET]\n")
    (project / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=x\nKEY=private-key\n")
    kamal, shipdeck = run_both(project)
    assert "  - private-key\n  - NOT_A_SECRET\n" in kamal.stdout
    assert shipdeck.stdout == kamal.stdout.replace("  - private-key\n", "  - \"[REDACTED]\"\n")


@pytest.mark.kamal
def test_an_empty_destination_looks_for_deploy_dot_dot_yml(tmp_path: pathlib.Path) -> None:
    kamal, shipdeck = run_both(_project(tmp_path, HEAD + "builder: {arch: amd64}\n"), "-d", "")
    expected = f"Configuration file not found in {tmp_path}/config/deploy..yml"
    assert expected in kamal.stdout
    assert shipdeck.returncode == 2 and shipdeck.stderr == f"shipdeck: {expected}\n"
